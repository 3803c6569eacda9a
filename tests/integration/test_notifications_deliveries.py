"""The delivery queue against the real database, broker and SMTP server: a recipient learnt late
is waited for, an unreachable SMTP server is retried and then reported as failed, and consultation
events reach the plan's point of contact."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from uuid import uuid4

from devstack.ports import free_port
from services.notifications.service import SPEC as NOTIFICATIONS
from services.notifications.settings import NotificationsSettings
from shared.events import topics
from shared.events.consultation import ConsultationClosed, ConsultationScheduled, RoundKind
from shared.events.plans import ContactRegistered, PlanSubmitted
from tests.conftest import Env, running
from tests.helpers import as_record, caught_up, eventually, fetchval, produce


def _events(email: str) -> tuple[ContactRegistered, PlanSubmitted]:
    contact = ContactRegistered(contact_id=uuid4(), name="Nadia", email=email, language="en")
    plan = PlanSubmitted(
        plan_id=uuid4(),
        member_id=uuid4(),
        title="Open justice plan",
        start_date=date(2025, 1, 1),
        end_date=date(2027, 1, 1),
        commitment_count=2,
        point_of_contact_id=contact.contact_id,
        submitted_at=datetime.now(UTC),
    )
    return contact, plan


async def _status(dsn: str) -> str | None:
    value = await fetchval(dsn, "SELECT status FROM deliveries")
    return str(value) if value is not None else None


async def test_a_recipient_learnt_after_the_event_still_gets_the_mail(env: Env) -> None:
    settings = env.settings(NotificationsSettings, "notifications")
    email = f"late-{env.run_id}@example.org"
    contact, plan = _events(email)
    async with running(NOTIFICATIONS, settings):
        await produce(env.kafka.bootstrap, env.topic(topics.PLANS), [as_record(plan)])
        await eventually(lambda: _attempted(settings.database_url))  # tried once, recipient unknown
        assert await _status(settings.database_url) == "pending"
        await produce(env.kafka.bootstrap, env.topic(topics.PLANS_CONTACTS), [as_record(contact)])
        await eventually(lambda: _is_sent(settings.database_url), timeout=30)
    mail = env.mail.wait_for(lambda m: m["To"].endswith(f"<{email}>"), timeout=10)
    assert "Open justice plan" in mail["Subject"]


async def test_an_unreachable_smtp_server_is_retried_then_reported(env: Env) -> None:
    settings = env.settings(
        NotificationsSettings,
        "notifications",
        smtp_port=free_port(),
        delivery_max_attempts=3,
        delivery_backoff_initial_s=0.1,
        smtp_timeout_s=1,
    )
    contact, plan = _events(f"nobody-{env.run_id}@example.org")
    dsn = settings.database_url
    async with running(NOTIFICATIONS, settings):
        await produce(env.kafka.bootstrap, env.topic(topics.PLANS_CONTACTS), [as_record(contact)])
        await eventually(
            lambda: _counts(dsn, "recipients", 1)
        )  # so every attempt is SMTP's (topics are not ordered)
        await produce(env.kafka.bootstrap, env.topic(topics.PLANS), [as_record(plan)])
        await eventually(lambda: _is_failed(dsn), timeout=30)
    assert await fetchval(dsn, "SELECT attempts FROM deliveries") == 3
    payload = json.loads(
        await fetchval(
            dsn, "SELECT payload FROM outbox WHERE event_type = 'ogp.notifications.delivery_failed.v1'"
        )
    )
    assert payload["attempts"] == 3
    assert payload["recipient_id"] == str(contact.contact_id)
    assert payload["reason"].startswith("SMTPConnect"), payload["reason"]
    assert "example.org" not in json.dumps(payload)  # the address never leaves the service


async def _counts(dsn: str, table: str, expected: int) -> bool:
    return bool(await fetchval(dsn, f"SELECT count(*) = $1 FROM {table}", expected))


async def _attempted(dsn: str) -> bool:
    return bool(await fetchval(dsn, "SELECT coalesce(max(attempts), 0) >= 1 FROM deliveries"))


async def _is_sent(dsn: str) -> bool:
    return await _status(dsn) == "sent"


async def _is_failed(dsn: str) -> bool:
    return await _status(dsn) == "failed"


async def test_consultation_events_reach_the_plans_point_of_contact(env: Env) -> None:
    """Short notice and a closed round are mailed to the point of contact; a round announced with
    enough notice, or cancelled, is not. A round closed by the plan's submission is mailed too:
    reactions.py skips only "cancelled" (the previous version also skipped "plan_submitted")."""
    settings = env.settings(NotificationsSettings, "notifications")
    email = f"poc-{env.run_id}@example.org"
    contact, plan = _events(email)
    now = datetime.now(UTC)

    def scheduled(notice_days: float) -> ConsultationScheduled:
        return ConsultationScheduled(
            round_id=uuid4(), plan_id=plan.plan_id, member_id=plan.member_id, kind=RoundKind.IDEAS,
            title=f"Ideas ({notice_days} days)", opens_at=now + timedelta(days=notice_days),
            closes_at=now + timedelta(days=40), scheduled_at=now, notice_days=notice_days,
            notice_days_required=14, short_notice=notice_days < 14,
        )  # fmt: skip

    def closed(reason: str) -> ConsultationClosed:
        return ConsultationClosed(round_id=uuid4(), plan_id=plan.plan_id, member_id=plan.member_id,
                                  closed_at=now, reason=reason, submissions=4, comments=11)  # fmt: skip

    dsn = settings.database_url
    async with running(NOTIFICATIONS, settings) as rt:
        await produce(env.kafka.bootstrap, env.topic(topics.PLANS_CONTACTS), [as_record(contact)])
        await produce(env.kafka.bootstrap, env.topic(topics.PLANS), [as_record(plan)])
        # The point of contact is found when the event is fanned out: the plan must be known by then
        # (the contact's own details may come later; see the first test).
        await eventually(lambda: _counts(dsn, "plan_contacts", 1))
        await produce(env.kafka.bootstrap, env.topic(topics.CONSULTATION), [
            as_record(e, service="consultation")
            for e in (scheduled(3), scheduled(20), closed("closed_on_schedule"), closed("plan_submitted"),
                      closed("cancelled"))
        ])  # fmt: skip

        async def sent() -> bool:
            return bool(await fetchval(dsn, "SELECT count(*) = 4 FROM deliveries WHERE status = 'sent'"))

        await eventually(sent, timeout=30)
        # Not a sleep: every event consumed and acknowledged, nothing pending; a (wrong) fifth
        # delivery would exist by now.
        assert rt.consumer is not None
        group = f"{env.prefix}sharaka-notifications"
        await eventually(lambda: caught_up(env.kafka.bootstrap, group, rt.consumer.topics), timeout=30)
        assert await fetchval(dsn, "SELECT count(*) FROM deliveries WHERE status = 'pending'") == 0
        templates = await fetchval(dsn, "SELECT string_agg(template, ',' ORDER BY template) FROM deliveries")
        assert templates == "consultation_closed,consultation_closed,consultation_short_notice,plan_submitted"
        assert (
            await fetchval(
                dsn,
                "SELECT count(*) FROM deliveries WHERE recipient_id IS DISTINCT FROM $1",
                contact.contact_id,
            )
            == 0
        )
    short = env.mail.wait_for(
        lambda m: m["To"].endswith(f"<{email}>") and "Short notice" in m["Subject"], timeout=10
    )
    assert "Ideas (3 days)" in _text(short) and "14 days" in _text(short)
    done = env.mail.wait_for(
        lambda m: m["To"].endswith(f"<{email}>") and "responses due" in m["Subject"], timeout=10
    )
    assert "(submissions: 4, comments: 11)" in _text(done)


def _text(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content())

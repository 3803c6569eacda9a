"""The delivery queue against the real database, broker and SMTP server: a recipient learnt late
is waited for, an unreachable SMTP server is retried and then reported as failed."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

from devstack.ports import free_port
from services.notifications.service import SPEC as NOTIFICATIONS
from services.notifications.settings import NotificationsSettings
from shared.events import topics
from shared.events.consultation import ConsultationClosed, ConsultationScheduled, RoundKind
from shared.events.plans import ContactRegistered, PlanSubmitted
from tests.conftest import Env, running
from tests.helpers import as_record, eventually, fetchval, produce


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
    async with running(NOTIFICATIONS, settings):
        await produce(env.kafka.bootstrap, env.topic(topics.PLANS_CONTACTS), [as_record(contact)])
        await produce(env.kafka.bootstrap, env.topic(topics.PLANS), [as_record(plan)])
        await eventually(lambda: _is_failed(settings.database_url), timeout=30)
    dsn = settings.database_url
    assert await fetchval(dsn, "SELECT attempts FROM deliveries") == 3
    payload = json.loads(
        await fetchval(
            dsn, "SELECT payload FROM outbox WHERE event_type = 'ogp.notifications.delivery_failed.v1'"
        )
    )
    assert payload["attempts"] == 3
    assert payload["recipient_id"] == str(contact.contact_id)
    assert "example.org" not in json.dumps(payload)  # the address never leaves the service


async def _attempted(dsn: str) -> bool:
    return bool(await fetchval(dsn, "SELECT coalesce(max(attempts), 0) >= 1 FROM deliveries"))


async def _is_sent(dsn: str) -> bool:
    return await _status(dsn) == "sent"


async def _is_failed(dsn: str) -> bool:
    return await _status(dsn) == "failed"


async def test_consultation_events_reach_the_plans_point_of_contact(env: Env) -> None:
    """Short notice and a round closing on schedule are mailed; a round closed by the submission
    itself, or announced with enough notice, is not."""
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

    async with running(NOTIFICATIONS, settings):
        await produce(env.kafka.bootstrap, env.topic(topics.PLANS_CONTACTS), [as_record(contact)])
        await produce(env.kafka.bootstrap, env.topic(topics.PLANS), [as_record(plan)])
        await produce(env.kafka.bootstrap, env.topic(topics.CONSULTATION), [
            as_record(e, service="consultation")
            for e in (scheduled(3), scheduled(20), closed("closed_on_schedule"), closed("plan_submitted"))
        ])  # fmt: skip

        async def sent() -> bool:
            n = await fetchval(settings.database_url, "SELECT count(*) FROM deliveries WHERE status = 'sent'")
            return bool(n == 3)

        await eventually(sent, timeout=30)
        assert await fetchval(settings.database_url, "SELECT count(*) FROM deliveries") == 3
    short = env.mail.wait_for(
        lambda m: m["To"].endswith(f"<{email}>") and "Short notice" in m["Subject"], timeout=10
    )
    assert "Ideas (3 days)" in short.get_content() and "14 days" in short.get_content()
    done = env.mail.wait_for(
        lambda m: m["To"].endswith(f"<{email}>") and "responses due" in m["Subject"], timeout=10
    )
    assert "4 submissions and 11 comments" in done.get_content()

"""Issue 10 end to end against the real database, broker, SMTP catcher and SMS gateway catcher: a
person following a member hears of every trigger in Arabic by e-mail and SMS, one-click
unsubscribe works, a digest replaces the messages when chosen, a public follower confirms first,
STOP and gateway reports are honoured, and a person can be erased."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID, uuid4

import httpx
import pytest
import uvicorn

from devstack.ports import free_port
from services.notifications.service import SPEC as NOTIFICATIONS
from services.notifications.settings import NotificationsSettings
from shared.auth import person_id
from shared.events import topics
from shared.events.base import Event
from shared.events.consultation import (
    AuthorContactRegistered,
    ConsultationClosed,
    ConsultationClosingSoon,
    ConsultationOpened,
    ConsultationScheduled,
    Decision,
    ForumMeetingOverdue,
    ResponsePublished,
    RoundKind,
)
from shared.events.irm import (
    ReviewDraftPublished,
    ReviewKind,
    ReviewOverdue,
    ReviewPublished,
    ReviewScheduled,
    ReviewState,
)
from shared.events.plans import (
    ContactRegistered,
    MemberCreated,
    MemberKind,
    MilestoneOverdue,
    NextPlanOverdue,
    PlanSubmitted,
    RepositoryStale,
)
from shared.events.privacy import digest
from shared.runtime import Runtime
from tests.conftest import Env, client, running, token
from tests.helpers import as_record, assert_problem, caught_up, eventually, fetchval, produce, read_topic

PHONE = "+21620123456"
NOW = datetime.now(UTC)


@pytest.fixture
async def rt(env: Env) -> AsyncIterator[Runtime]:
    port = free_port()
    settings = env.settings(
        NotificationsSettings, "notifications", http_port=port, public_url=f"http://127.0.0.1:{port}",
        digest_poll_interval_s=0.2,
    )  # fmt: skip
    async with running(NOTIFICATIONS, settings) as runtime:
        # A real HTTP server too: the SMS gateway posts its reports and replies to it.
        server = uvicorn.Server(uvicorn.Config(runtime.app, host="127.0.0.1", port=port, log_config=None,
                                               access_log=False, lifespan="off"))  # fmt: skip
        task = asyncio.create_task(server.serve())
        await eventually(lambda: _started(server))
        try:
            yield runtime
        finally:
            server.should_exit = True
            await task


async def _started(server: uvicorn.Server) -> bool:
    return bool(server.started)


def _topic_of(event: Event) -> str:
    return event.topic


async def _send(env: Env, *events: Event) -> None:
    by_topic: dict[str, list[Any]] = {}
    for e in events:
        source = {topics.CONSULTATION: "consultation", topics.IRM: "irm"}.get(e.topic, "plans")
        by_topic.setdefault(e.topic, []).append(as_record(e, service=source))
    for topic, records in by_topic.items():
        await produce(env.kafka.bootstrap, env.topic(topic), records)


def _all_triggers(member_id: UUID) -> list[Event]:
    """One event of each kind a member's follower hears of (13)."""
    plan, review, round_ = uuid4(), uuid4(), uuid4()
    m = member_id
    today = NOW.date()
    return [
        PlanSubmitted(plan_id=plan, member_id=m, title="خطة الحكومة المفتوحة", start_date=date(2025, 1, 1),
                      end_date=date(2027, 1, 1), commitment_count=3, point_of_contact_id=uuid4(), submitted_at=NOW),
        ReviewScheduled(review_id=review, plan_id=plan, member_id=m, kind=ReviewKind.ACTION_PLAN_REVIEW,
                        due_date=today + timedelta(days=120), scheduled_at=NOW),
        ReviewDraftPublished(review_id=review, plan_id=plan, member_id=m, kind=ReviewKind.ACTION_PLAN_REVIEW,
                             draft_url="https://irm.example.org/draft", comments_until=today, published_at=NOW),
        ReviewPublished(review_id=review, plan_id=plan, member_id=m, kind=ReviewKind.ACTION_PLAN_REVIEW,
                        title="Review", url="https://irm.example.org/final", published_on=today, published_at=NOW),
        ReviewOverdue(review_id=review, plan_id=plan, member_id=m, kind=ReviewKind.ACTION_PLAN_REVIEW,
                      due_date=today, state=ReviewState.DRAFT, detected_at=NOW),
        ConsultationScheduled(round_id=round_, plan_id=plan, member_id=m, kind=RoundKind.IDEAS, title="جولة الأفكار",
                              opens_at=NOW + timedelta(days=20), closes_at=NOW + timedelta(days=50), scheduled_at=NOW,
                              notice_days=20, notice_days_required=14, short_notice=False),
        ConsultationOpened(round_id=round_, plan_id=plan, member_id=m, kind=RoundKind.IDEAS, opened_at=NOW,
                           closes_at=NOW + timedelta(days=30)),
        ConsultationClosingSoon(round_id=round_, plan_id=plan, member_id=m, title="جولة الأفكار",
                                closes_at=NOW + timedelta(days=2), days_left=2, detected_at=NOW),
        ConsultationClosed(round_id=round_, plan_id=plan, member_id=m, closed_at=NOW, reason="closed_on_schedule",
                           submissions=4, comments=9),
        MilestoneOverdue(plan_id=plan, commitment_id=uuid4(), milestone_id=uuid4(), member_id=m, number=2,
                         end_date=today, detected_at=NOW),
        ForumMeetingOverdue(forum_id=uuid4(), member_id=m, last_meeting_on=None, since=today - timedelta(days=200),
                            due_on=today, detected_at=NOW),
        NextPlanOverdue(member_id=m, previous_plan_id=plan, previous_end_date=today - timedelta(days=400),
                        due_date=today, detected_at=NOW),
        RepositoryStale(plan_id=plan, member_id=m, period_start=today - timedelta(days=365), period_end=today,
                        updates_in_period=1, detected_at=NOW),
    ]  # fmt: skip


async def _profile(api: httpx.AsyncClient, sub: str, email: str, **extra: Any) -> UUID:
    rid = person_id(sub)
    body = {
        "name": "أمينة",
        "email": email,
        "phone": PHONE,
        "language": "ar",
        "timezone": "Africa/Tunis",
    } | extra
    r = await api.put(f"/v1/recipients/{rid}/preferences", json=body, headers=token("participant", sub=sub))
    assert r.status_code == 200, r.text
    return rid


async def _follow_member(api: httpx.AsyncClient, sub: str, member_id: UUID) -> httpx.Response:
    return await api.post(
        f"/v1/recipients/{person_id(sub)}/subscriptions",
        json={"scope_type": "member", "scope_id": str(member_id)},
        headers=token("participant", sub=sub),
    )


def _mails_to(env: Env, email: str) -> list[EmailMessage]:
    return [m for m in env.mail.messages if email in str(m["To"])]


async def test_a_follower_gets_every_trigger_in_arabic_by_email_and_sms_and_can_unsubscribe_in_one_click(
    env: Env, rt: Runtime
) -> None:
    email = f"amina-{env.run_id}@example.org"
    member = uuid4()
    async with client(rt) as api:
        await _profile(api, "amina", email)
        r = await _follow_member(api, "amina", member)
        assert r.status_code == 201, r.text
        again = await _follow_member(api, "amina", member)
        assert again.status_code == 200 and again.json()["id"] == r.json()["id"]  # nothing changed
        triggers = _all_triggers(member)
        await _send(
            env, MemberCreated(member_id=member, name="تونس", kind=MemberKind.NATIONAL, created_at=NOW)
        )
        await _send(env, *triggers)
        await eventually(
            lambda: _count(rt, "SELECT count(*) FROM deliveries WHERE status = 'sent'", 26), timeout=40
        )

        mails = _mails_to(env, email)
        assert len(mails) == len(triggers) == 13
        for mail in mails:
            assert mail["Content-Language"] == "ar"
            html = mail.get_body(("html",))
            text = mail.get_body(("plain",))
            assert html is not None and text is not None
            assert 'dir="rtl"' in html.get_content() and 'lang="ar"' in html.get_content()
            assert "\u200f" in text.get_content()  # direction marks in the text part
            assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        texts = [s for s in env.sms.messages if s.to == PHONE]
        assert len(texts) >= 13
        assert all(t.body.startswith("شراكة") for t in texts[-13:])

        # One click (RFC 8058): the mail client POSTs to the List-Unsubscribe URL.
        found = re.search(r"<([^>]+)>", str(mails[0]["List-Unsubscribe"]).replace("\n", ""))
        assert found is not None
        url = found.group(1).replace(" ", "")
        parts = urlsplit(url)
        r = await api.post(f"{parts.path}?{parts.query}", content=b"List-Unsubscribe=One-Click",
                           headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
        assert r.status_code == 200, r.text
        source = await fetchval(
            rt.settings.database_url, "SELECT source FROM consents WHERE action = 'opted_out'"
        )
        assert source == "list_unsubscribe_post"
        before_sms = len(env.sms.messages)
        await _send(env, _all_triggers(member)[0])
        await eventually(
            lambda: _count(rt, "SELECT count(*) FROM deliveries WHERE status = 'sent'", 27), timeout=30
        )
        await eventually(lambda: _settled(env, rt), timeout=30)
        assert len(_mails_to(env, email)) == 13  # no more e-mail…
        assert len(env.sms.messages) == before_sms + 1  # …but SMS still comes


async def test_a_digest_replaces_the_messages_and_comes_once_per_period(env: Env, rt: Runtime) -> None:
    email = f"digest-{env.run_id}@example.org"
    member = uuid4()
    dsn = rt.settings.database_url
    async with client(rt) as api:
        rid = await _profile(api, "dina", email, digest="daily", language="fr", channels=["email"])
        await _follow_member(api, "dina", member)
        await _send(env, *_all_triggers(member)[:5])
        await eventually(lambda: _count(rt, "SELECT count(*) FROM digest_items", 5), timeout=30)
        assert _mails_to(env, email) == []  # held for the morning
        # The morning comes (the digest is due at 08:00 Africa/Tunis; here: now).
        await fetchval(dsn, "UPDATE recipients SET next_digest_at = now() WHERE id = $1 RETURNING 1", rid)
        await eventually(
            lambda: _count(
                rt, "SELECT count(*) FROM deliveries WHERE template = 'digest' AND status = 'sent'", 1
            ),
            timeout=30,
        )
        [mail] = _mails_to(env, email)
        assert mail["Content-Language"] == "fr"
        body = mail.get_body(("plain",))
        assert body is not None and "5" in str(mail["Subject"])
        # The same morning again (a restart, a second replica): no second digest for the period.
        await fetchval(
            dsn,
            "UPDATE recipients SET next_digest_at = now() - interval '1 second' WHERE id = $1 RETURNING 1",
            rid,
        )
        await _send(env, _all_triggers(member)[5])
        await eventually(lambda: _count(rt, "SELECT count(*) FROM digest_items", 6), timeout=30)
        await eventually(lambda: _settled(env, rt), timeout=30)
        n = await fetchval(dsn, "SELECT count(*) FROM deliveries WHERE template = 'digest'")
        assert n == 1, "a period has one digest"
        assert await fetchval(dsn, "SELECT count(*) FROM digest_items WHERE delivery_id IS NULL") == 1


async def test_a_public_follower_confirms_first_then_hears(env: Env, rt: Runtime) -> None:
    email = f"public-{env.run_id}@example.org"
    member = uuid4()
    async with client(rt) as api:
        body = {
            "name": "Lina",
            "email": email,
            "language": "en",
            "scope_type": "member",
            "scope_id": str(member),
        }
        r = await api.post("/v1/public/subscriptions", json=body)
        assert r.status_code == 202, r.text
        mail = await asyncio.to_thread(env.mail.wait_for, lambda m: email in str(m["To"]), 15)
        await _send(env, _all_triggers(member)[0])
        await eventually(lambda: _settled(env, rt), timeout=30)
        assert len(_mails_to(env, email)) == 1  # only the confirmation until confirmed
        text = mail.get_body(("plain",))
        assert text is not None
        link = next(w for w in text.get_content().split() if "/v1/confirm?token=" in w)
        parts = urlsplit(link)
        forged = parts.query[:-3] + ("aaa" if not parts.query.endswith("aaa") else "bbb")
        assert_problem(await api.post(f"{parts.path}?{forged}"), 422, field="token")
        assert (await api.get(f"{parts.path}?{parts.query}")).status_code == 200  # a page, no change
        assert (
            await fetchval(
                rt.settings.database_url, "SELECT count(*) FROM subscriptions WHERE confirmed_at IS NOT NULL"
            )
            == 0
        )
        assert (await api.post(f"{parts.path}?{parts.query}")).status_code == 200
        await _send(env, _all_triggers(member)[0])
        await eventually(lambda: _mail_count(env, email, 2), timeout=30)


async def test_an_author_hears_of_the_reasoned_response(env: Env, rt: Runtime) -> None:
    email = f"author-{env.run_id}@example.org"
    input_id, round_id, plan_id = uuid4(), uuid4(), uuid4()
    contact = AuthorContactRegistered(input_id=input_id, round_id=round_id, plan_id=plan_id, name="Omar",
                                      email=email, language="es")  # fmt: skip
    await produce(
        env.kafka.bootstrap,
        env.topic(topics.CONSULTATION_CONTACTS),
        [as_record(contact, service="consultation")],
    )
    response = ResponsePublished(response_id=uuid4(), round_id=round_id, plan_id=plan_id, input_ids=[input_id, uuid4()],
                                 decision=Decision.ACCEPTED, rationale="Adopted.", published_at=NOW)  # fmt: skip
    await eventually(
        lambda: _count(rt, "SELECT count(*) FROM recipients WHERE kind = 'author'", 1), timeout=30
    )
    await _send(env, response)
    mail = await asyncio.to_thread(env.mail.wait_for, lambda m: email in str(m["To"]), 30)
    assert mail["Content-Language"] == "es"


async def test_stop_gateway_reports_and_erasure(env: Env, rt: Runtime) -> None:
    email = f"erase-{env.run_id}@example.org"
    member = uuid4()
    dsn = rt.settings.database_url
    async with client(rt) as api:
        rid = await _profile(api, "sami", email, channels=["sms"], language="en")
        await _follow_member(api, "sami", member)
        await _send(env, _all_triggers(member)[0])
        await eventually(
            lambda: _count(rt, "SELECT count(*) FROM deliveries WHERE provider_status = 'delivered'", 1),
            timeout=30,
        )
        # STOP through the gateway's signed inbound webhook.
        base = rt.settings.public_url  # type: ignore[attr-defined]
        r = await env.sms.send_inbound(f"{base}/v1/sms/inbound/twilio", PHONE, "stop")
        assert r.status_code == 200, r.text
        assert await fetchval(dsn, "SELECT sms_opt_out_at IS NOT NULL FROM recipients WHERE id = $1", rid)
        forged = await httpx.AsyncClient().post(
            f"{base}/v1/sms/inbound/twilio", data={"From": PHONE, "Body": "START"}
        )
        assert_problem(forged, 403)
        # Erasure by the person themselves: gone here, asked of every other service.
        r = await api.delete(f"/v1/recipients/{rid}", headers=token("participant", sub="sami"))
        assert r.status_code == 200 and r.json()["recipients_erased"] == 1
        assert await fetchval(dsn, "SELECT count(*) FROM recipients WHERE id = $1", rid) == 0
        assert await fetchval(dsn, "SELECT count(*) FROM subscriptions WHERE recipient_id = $1", rid) == 0
        audit = await fetchval(dsn, "SELECT row_to_json(e)::text FROM erasures e")
        assert email not in audit and PHONE not in audit
        records = await read_topic(
            env.kafka.bootstrap, env.topic(topics.ERASURES), until=lambda rs: len(rs) >= 1
        )
        payload = json.loads(records[0].value or b"{}")
        assert payload["email_sha256"] == digest(email) and payload["phone_sha256"] == digest(PHONE)
        assert email not in (records[0].value or b"").decode()

    # A tombstone on the plans contacts topic erases a point of contact.
    poc = ContactRegistered(contact_id=uuid4(), name="Poc", email=f"poc-{env.run_id}@example.org")
    await produce(env.kafka.bootstrap, env.topic(topics.PLANS_CONTACTS), [as_record(poc)])
    await eventually(
        lambda: _count(rt, f"SELECT count(*) FROM recipients WHERE id = '{poc.contact_id}'", 1), timeout=30
    )
    await produce(
        env.kafka.bootstrap, env.topic(topics.PLANS_CONTACTS), [(str(poc.contact_id).encode(), None, [])]
    )  # type: ignore[list-item]
    await eventually(
        lambda: _count(rt, f"SELECT count(*) FROM recipients WHERE id = '{poc.contact_id}'", 0), timeout=30
    )


async def test_bad_input_gets_a_clear_answer(env: Env, rt: Runtime) -> None:
    async with client(rt) as api:
        rid = person_id("bad")
        h = token("participant", sub="bad")
        url = f"/v1/recipients/{rid}/preferences"
        assert_problem(
            await api.put(url, json={"name": "x", "email": "not-an-email"}, headers=h), 422, field="email"
        )
        assert_problem(await api.put(url, json={"name": "x", "phone": "0612"}, headers=h), 422, field="phone")
        assert_problem(
            await api.put(url, json={"name": "x", "email": "a@example.org", "language": "de"}, headers=h),
            422,
            field="language",
        )
        assert_problem(
            await api.put(
                url, json={"name": "x", "email": "a@example.org", "timezone": "Mars/Base"}, headers=h
            ),
            422,
            field="timezone",
        )
        assert (
            await api.put(url, json={"name": "x", "email": "a@example.org"}, headers=h)
        ).status_code == 200
        subs = f"/v1/recipients/{rid}/subscriptions"
        assert_problem(
            await api.post(
                subs,
                json={"scope_type": "plan", "scope_id": str(uuid4()), "kinds": ["no_such_kind"]},
                headers=h,
            ),
            422,
            field="kinds",
        )
        assert_problem(
            await api.post(
                subs,
                json={"scope_type": "plan", "scope_id": str(uuid4()), "kinds": ["next_plan_overdue"]},
                headers=h,
            ),
            422,
            field="kinds",
        )
        assert_problem(
            await api.post(subs, json={"scope_type": "galaxy", "scope_id": str(uuid4())}, headers=h),
            422,
            field="scope_type",
        )
        mine = await api.post(subs, json={"scope_type": "plan", "scope_id": str(uuid4())}, headers=h)
        assert mine.status_code == 201
        other = token("participant", sub="someone-else")
        assert_problem(await api.delete(f"/v1/subscriptions/{mine.json()['id']}", headers=other), 403)
        assert_problem(await api.get(subs, headers=other), 403)
        assert_problem(await api.put(url, json={"name": "x", "email": "a@example.org"}, headers=other), 403)
        assert_problem(await api.post("/v1/unsubscribe?token=forged.token.value"), 422, field="token")
        assert (
            await fetchval(
                rt.settings.database_url, "SELECT count(*) FROM consents WHERE action = 'opted_out'"
            )
            == 0
        )
        assert_problem(await api.post("/v1/erasures", json={"email": "a@example.org"}, headers=h), 403)
        assert_problem(
            await api.post(
                "/v1/public/subscriptions",
                json={"email": "nope", "scope_type": "plan", "scope_id": str(uuid4())},
            ),
            422,
            field="email",
        )


async def _settled(env: Env, rt: Runtime) -> bool:
    """Everything produced so far is consumed and acknowledged, and no delivery is waiting to be
    sent: the condition to wait on before asserting that nothing more was sent (not a sleep)."""
    assert rt.consumer is not None
    group = f"{env.prefix}sharaka-notifications"
    if not await caught_up(env.kafka.bootstrap, group, rt.consumer.topics):
        return False
    return bool(
        await fetchval(
            rt.settings.database_url, "SELECT count(*) = 0 FROM deliveries WHERE status = 'pending'"
        )
    )


async def _count(rt: Runtime, sql: str, expected: int) -> bool:
    return bool(await fetchval(rt.settings.database_url, sql) == expected)


async def _mail_count(env: Env, email: str, expected: int) -> bool:
    return len(_mails_to(env, email)) >= expected

"""The walking skeleton end to end: four service processes, real Kafka, Postgres and SMTP.

HTTP submit in plans → consultation closes co-creation → IRM schedules the Action Plan Review
due four months later → notifications e-mails the point of contact twice.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import AsyncIterator
from datetime import date, datetime
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from devstack.services import ServiceProcess
from shared.events import topics
from tests.conftest import Env, token
from tests.helpers import (
    caught_up,
    eventually,
    header,
    log_records,
    processes_running,
    read_topic,
    topic_size,
)
from tests.privacy import scan_text, scan_topics, topics_with_prefix

SERVICES = ("plans", "consultation", "irm", "notifications")


def _text(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


PHONE = "+21671123456"
STAFF = token("staff")


def four_months_after(day: date) -> date:
    """OGP's rule written out here, not taken from the IRM's code under test: the same day four
    calendar months later, or that month's last day when it is shorter (31 Oct → 28/29 Feb)."""
    year, month = divmod(day.month - 1 + 4, 12)
    year, month = day.year + year, month + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def test_the_rule_written_out_here_by_literal_examples() -> None:
    assert four_months_after(date(2025, 10, 31)) == date(2026, 2, 28)
    assert four_months_after(date(2027, 10, 31)) == date(2028, 2, 29)
    assert four_months_after(date(2025, 9, 1)) == date(2026, 1, 1)
    assert four_months_after(date(2025, 3, 15)) == date(2025, 7, 15)


@pytest.fixture
async def platform(env: Env, tmp_path: Path) -> AsyncIterator[dict[str, ServiceProcess]]:
    procs = {
        name: ServiceProcess(name, env.env_vars(name.upper() + "_", name), tmp_path) for name in SERVICES
    }
    async with processes_running(procs):
        yield procs


async def test_submit_reaches_every_service_and_the_inbox(
    env: Env, platform: dict[str, ServiceProcess]
) -> None:
    email = f"poc-{env.run_id}@example.org"
    url = {name: p.base_url for name, p in platform.items()}
    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.post(f"{url['plans']}/v1/members", headers=STAFF,
                            json={"name": "Tunisia", "kind": "national", "country_code": "TN"})  # fmt: skip
        assert r.status_code == 201, r.text
        assert "server" not in r.headers and r.headers["x-content-type-options"] == "nosniff"
        member = r.json()
        r = await http.post(f"{url['plans']}/v1/plans", headers=STAFF, json={
            "member_id": member["id"], "title": "Plan national 2025-2027",
            "start_date": "2025-09-01", "end_date": "2027-08-31",
            "point_of_contact": {"name": "Salma Ben Ali", "email": email, "phone": PHONE, "language": "fr"},
        })  # fmt: skip
        assert r.status_code == 201, r.text
        plan_id = r.json()["id"]

        # Notifications learns the contact from its own (private) topic, read apart from the plans
        # topic: a plan submitted before that is announced by e-mail only, to the address the
        # notice names. This test is about both channels, so it waits until the contact is known.
        contacts, group = env.topic(topics.PLANS_CONTACTS), f"{env.prefix}sharaka-notifications"

        async def contact_known() -> bool:
            return await topic_size(env.kafka.bootstrap, contacts) >= 1 and await caught_up(
                env.kafka.bootstrap, group, [contacts]
            )

        await eventually(contact_known, timeout=30)
        r = await http.post(
            f"{url['plans']}/v1/plans/{plan_id}/transitions", json={"to": "co_creation"}, headers=STAFF
        )
        assert r.status_code == 200, r.text
        r = await http.post(f"{url['plans']}/v1/plans/{plan_id}/commitments", headers=STAFF,
                            json={"title": "Registre des bénéficiaires effectifs"})  # fmt: skip
        assert r.status_code == 201, r.text
        r = await http.post(f"{url['plans']}/v1/plans/{plan_id}/transitions", json={"to": "submitted"},
                            headers=STAFF)  # fmt: skip
        assert r.status_code == 200, r.text
        submitted_on = datetime.fromisoformat(r.json()["submitted_at"]).date()

        # Both e-mails reach the SMTP server, in the contact's language.
        submitted_mail = env.mail.wait_for(
            lambda m: m["To"].endswith(f"<{email}>") and "soumis" in m["Subject"], timeout=30
        )
        review_mail = env.mail.wait_for(
            lambda m: m["To"].endswith(f"<{email}>") and "MRI" in m["Subject"], timeout=30
        )
        due = four_months_after(submitted_on)
        assert due.isoformat() in _text(review_mail)
        assert "Plan national 2025-2027" in _text(submitted_mail)

        # The IRM review is readable over HTTP with the right due date.
        async def review() -> list[dict[str, object]]:
            r = await http.get(f"{url['irm']}/v1/reviews", params={"plan_id": plan_id})
            assert r.status_code == 200, r.text
            return list(r.json())

        reviews = await eventually(review, until=lambda rs: len(rs) >= 1)
        assert len(reviews) == 1
        assert reviews[0]["kind"] == "action_plan_review"
        assert date.fromisoformat(str(reviews[0]["due_date"])) == due

        # Consultation closed co-creation in its own store.
        async def closed() -> bool:
            r = await http.get(f"{url['consultation']}/v1/plans/{plan_id}/co-creation")
            return r.status_code == 200 and r.json()["state"] == "closed"

        await eventually(closed)
        space = (await http.get(f"{url['consultation']}/v1/plans/{plan_id}/co-creation")).json()
        assert [c["number"] for c in space["commitments"]] == [1]

        # The delivery log says both were sent by e-mail and by SMS (the contact gave a phone),
        # staff only, without any address in it.
        async def sent() -> list[dict[str, object]]:
            r = await http.get(
                f"{url['notifications']}/v1/deliveries", params={"plan_id": plan_id}, headers=STAFF
            )
            assert r.status_code == 200, r.text
            return [d for d in r.json() if d["status"] == "sent"]

        deliveries = await eventually(sent, until=lambda ds: len(ds) >= 4)
        assert sorted(str(d["channel"]) for d in deliveries) == ["email", "email", "sms", "sms"]
        assert (await http.get(f"{url['notifications']}/v1/deliveries")).status_code == 401

        # Operators see lag per partition and the deliveries made.
        async def lag_reported() -> bool:
            text = (await http.get(f"{url['irm']}/metrics")).text
            return f'sharaka_consumer_lag{{partition="0",topic="{env.topic(topics.PLANS)}"}} 0.0' in text

        await eventually(lag_reported, timeout=15, every=0.5)
        notif_metrics = (await http.get(f"{url['notifications']}/metrics")).text
        assert 'sharaka_deliveries_total{channel="email",outcome="sent"} 2.0' in notif_metrics

    # One trace from the HTTP request, through Kafka, into the IRM and back out on its topic.
    plans_records = await read_topic(env.kafka.bootstrap, env.topic(topics.PLANS),
                                     until=lambda rs: any(header(r, "ce_type") == "ogp.plans.plan_submitted.v1" for r in rs))  # fmt: skip
    irm_records = await read_topic(env.kafka.bootstrap, env.topic(topics.IRM), until=lambda rs: len(rs) >= 1)
    submitted_rec = next(r for r in plans_records if header(r, "ce_type") == "ogp.plans.plan_submitted.v1")
    trace_of = lambda r: (header(r, "traceparent") or "").split("-")[1]  # noqa: E731
    assert re.fullmatch(r"[0-9a-f]{32}", trace_of(submitted_rec))
    assert trace_of(irm_records[0]) == trace_of(submitted_rec)

    # Personal data never travels on a public topic (key, value or header) nor reaches a log line
    # (services run at INFO here); the private contacts topic is where the contact does travel.
    scan = await scan_topics(env.kafka.bootstrap, await topics_with_prefix(env.kafka.bootstrap, env.prefix))
    assert scan.public(env.prefix) == []
    assert {f.kind for f in scan.private(env.prefix)} >= {"email", "phone"}  # the scan can find them
    for name in (topics.PLANS, topics.IRM, topics.CONSULTATION, topics.NOTIFICATIONS):
        for r in await read_topic(env.kafka.bootstrap, env.topic(name), timeout=2):
            assert "Salma" not in (r.value or b"").decode(), name
    for p in platform.values():
        assert scan_text(p.name, p.log_text()) == [], p.name
        assert "Salma" not in p.log_text(), p.name

    # Logs are JSON with the service name and W3C-sized trace ids.
    lines = log_records(platform["plans"].log_text())  # every line: one that is not JSON fails
    requests = [e for e in lines if e.get("event") == "http request"]
    assert requests and all(re.fullmatch(r"[0-9a-f]{32}", e["trace_id"]) for e in requests)
    assert all(re.fullmatch(r"[0-9a-f]{16}", e["span_id"]) for e in requests)
    assert all(e["service"] == "plans" for e in lines)

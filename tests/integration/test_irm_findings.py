"""Findings and procedural reviews over the real broker and database, the IRM and plans services
in this process on one Kafka: plans' own plan events (created, submitted) give the IRM each
member's cycles; plans' timer event ``NextPlanOverdue`` (produced here as the timer would, a year
after a plan's end) makes findings; the IRM's events put the member under procedural review in
plans and let it participate again.

* two late plans in a row: ActedContraryToProcess twice → ProceduralReviewStarted → plans shows
  the member under procedural review → a new plan submitted → ProceduralReviewLifted → the
  member participates again;
* a clean cycle between two findings: no procedural review;
* IRM staff record a finding through the API (role, repeat, unknown plan).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import asyncpg
import httpx

from services.irm.service import SPEC as IRM
from services.irm.settings import IrmSettings
from services.plans.service import SPEC as PLANS
from services.plans.settings import PlansSettings
from shared.events import topics
from shared.events.plans import NextPlanOverdue
from tests.conftest import Env, client, running, token
from tests.helpers import as_record, eventually, produce

STAFF = token("staff", sub="staff-1")
IRM_STAFF = token("irm", sub="irm-1")
ACTED = "ogp.irm.acted_contrary_to_process.v1"
STARTED = "ogp.irm.procedural_review_started.v1"
LIFTED = "ogp.irm.procedural_review_lifted.v1"


async def member(plans: httpx.AsyncClient, name: str) -> str:
    r = await plans.post(
        "/v1/members", headers=STAFF, json={"name": name, "kind": "national", "country_code": "KE"}
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def plan(plans: httpx.AsyncClient, mid: str, start: date, end: date, *, submit: bool = False) -> str:
    r = await plans.post("/v1/plans", headers=STAFF, json={
        "member_id": mid, "title": f"Action plan {start.year}", "start_date": start.isoformat(),
        "end_date": end.isoformat(), "point_of_contact": {"name": "A. Otieno", "email": "poc@example.org"},
    })  # fmt: skip
    assert r.status_code == 201, r.text
    pid = str(r.json()["id"])
    if submit:
        move = await plans.post(f"/v1/plans/{pid}/transitions", headers=STAFF, json={"to": "co_creation"})
        assert move.status_code == 200, move.text
        c = await plans.post(
            f"/v1/plans/{pid}/commitments", headers=STAFF, json={"title": "Open contracting"}
        )
        assert c.status_code == 201, c.text
        move = await plans.post(f"/v1/plans/{pid}/transitions", headers=STAFF, json={"to": "submitted"})
        assert move.status_code == 200, move.text
    return pid


def overdue(mid: str, previous: str, end: date) -> NextPlanOverdue:
    return NextPlanOverdue(
        member_id=UUID(mid), previous_plan_id=UUID(previous), previous_end_date=end,
        due_date=end.replace(year=end.year + 1), detected_at=datetime.now(UTC),
    )  # fmt: skip


async def known_plans(pool: asyncpg.Pool, mid: str, n: int) -> bool:
    return bool(
        await pool.fetchval("SELECT count(*) FROM finding_plans WHERE member_id = $1", UUID(mid)) == n
    )


async def outbox(pool: asyncpg.Pool, event_type: str, mid: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT payload FROM outbox WHERE event_type = $1 AND key = $2 ORDER BY id", event_type, mid
    )
    return [json.loads(r["payload"]) for r in rows]


async def test_findings_in_two_consecutive_cycles_put_the_member_under_procedural_review(env: Env) -> None:
    plans_settings = env.settings(PlansSettings, "plans", timers_enabled=False)
    async with (
        running(PLANS, plans_settings) as plans_rt,
        running(IRM, env.settings(IrmSettings, "irm")) as irm_rt,
        client(plans_rt) as plans,
        client(irm_rt) as irm,
    ):
        late, clean = await member(plans, "Kenya"), await member(plans, "Ghana")
        a = await plan(plans, late, date(2019, 9, 1), date(2021, 8, 31))
        b = await plan(plans, late, date(2022, 9, 1), date(2024, 8, 31))  # a year late
        x = await plan(plans, clean, date(2017, 9, 1), date(2019, 8, 31))
        await plan(plans, clean, date(2020, 9, 1), date(2022, 8, 31))  # late
        z = await plan(plans, clean, date(2022, 9, 1), date(2024, 8, 31))  # on time: a clean cycle
        await eventually(lambda: known_plans(irm_rt.pool, late, 2))
        await eventually(lambda: known_plans(irm_rt.pool, clean, 3))

        # Plans' timer: no plan a year after A's end (B came late), then none after B's; the timer
        # says so again the next day (a repeat is no new finding). The other member: late after
        # X, on time after Y, late after Z.
        await produce(env.kafka.bootstrap, env.topic(topics.PLANS), [
            as_record(overdue(late, a, date(2021, 8, 31))),
            as_record(overdue(late, a, date(2021, 8, 31))),
            as_record(overdue(late, b, date(2024, 8, 31))),
            as_record(overdue(clean, x, date(2019, 8, 31))),
            as_record(overdue(clean, z, date(2024, 8, 31))),
        ])  # fmt: skip

        async def reviews(mid: str) -> list[dict[str, Any]]:
            r = await irm.get("/v1/procedural-reviews", params={"member_id": mid})
            assert r.status_code == 200, r.text
            return list(r.json())

        [review] = await eventually(lambda: reviews(late), until=lambda rs: len(rs) >= 1)
        found = (await irm.get("/v1/findings", params={"member_id": late})).json()
        assert [(f["cycle"], f["reason"], f["source"]) for f in found] == [
            (f"{a}next", "no_new_plan", "next_plan_overdue"),
            (f"{b}next", "no_new_plan", "next_plan_overdue"),
        ]
        assert review["open"] and review["finding_ids"] == [f["id"] for f in found]
        assert review["plan_ids"] == [a, b]
        acted = await outbox(irm_rt.pool, ACTED, late)
        assert [(e["cycle"], e["finding_id"]) for e in acted] == [(f["cycle"], f["id"]) for f in found]
        assert [e["finding_ids"] for e in await outbox(irm_rt.pool, STARTED, late)] == [review["finding_ids"]]

        async def status(mid: str) -> str:
            return str((await plans.get(f"/v1/members/{mid}")).json()["status"])

        async def is_(mid: str, expected: str) -> bool:
            return await status(mid) == expected

        await eventually(lambda: is_(late, "under_procedural_review"))

        # The clean cycle: two findings, no procedural review.
        async def two_findings() -> bool:
            r = await irm.get("/v1/findings", params={"member_id": clean})
            return len(r.json()) == 2

        await eventually(two_findings)
        assert await reviews(clean) == []
        assert await outbox(irm_rt.pool, STARTED, clean) == []
        # plans reflects the findings, not a procedural review it would infer on its own
        await eventually(lambda: is_(clean, "acted_contrary_to_process"))
        history = (await plans.get(f"/v1/members/{clean}/status-history")).json()
        assert "under_procedural_review" not in [h["to_status"] for h in history]

        # Staff cannot lift a review a new plan remedies; the member submits one and it lifts.
        refused = await irm.post(f"/v1/procedural-reviews/{review['id']}/lift", headers=IRM_STAFF,
                                 json={"reason": "a plan is promised"})  # fmt: skip
        assert (
            refused.status_code == 409 and refused.json()["rule"] == "procedural_review.remedy_is_a_new_plan"
        )
        await plan(plans, late, date(2025, 9, 1), date(2027, 8, 31), submit=True)

        async def lifted() -> bool:
            r = await irm.get(f"/v1/procedural-reviews/{review['id']}")
            return not r.json()["open"]

        await eventually(lifted)
        [lift] = await outbox(irm_rt.pool, LIFTED, late)
        assert lift["procedural_review_id"] == review["id"] and lift["reason"].startswith("new action plan ")
        await eventually(lambda: is_(late, "participating"))
        history = (await plans.get(f"/v1/members/{late}/status-history")).json()
        assert [h["to_status"] for h in history][-1] == "participating"

        # IRM staff record a finding about a plan: the role, a repeat, an unknown plan.
        body = {"plan_id": a, "reason": "co_creation_minimum_not_met"}
        assert (await irm.post("/v1/findings", json=body, headers=STAFF)).status_code == 403
        first = await irm.post("/v1/findings", json=body, headers=IRM_STAFF)
        assert first.status_code == 201, first.text
        assert (first.json()["cycle"], first.json()["source"]) == (a, "irm_staff")
        again = await irm.post("/v1/findings", json=body, headers=IRM_STAFF)
        assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
        unknown = {"plan_id": "00000000-0000-0000-0000-000000000001", "reason": "no_progress"}
        assert (await irm.post("/v1/findings", json=unknown, headers=IRM_STAFF)).status_code == 404
        bad = {"plan_id": a, "reason": "no_new_plan"}
        assert (await irm.post("/v1/findings", json=bad, headers=IRM_STAFF)).status_code == 422

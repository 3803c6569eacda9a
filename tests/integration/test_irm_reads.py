"""The IRM's reads by year over the real broker and database: a review's year is the year it was
opened (``opened_on``, an action plan review's the plan's submission), not its due date, and an
assessment's year is its review's."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

from services.irm.service import SPEC as IRM
from services.irm.settings import IrmSettings
from shared.events import topics
from shared.events.plans import CommitmentAdded, PlanSubmitted
from tests.conftest import Env, client, running, token
from tests.helpers import as_record, eventually, produce

IRM_STAFF = token("irm", sub="irm-staff")


async def test_reviews_and_assessments_by_the_year_the_review_opened(env: Env) -> None:
    member_id = uuid4()
    # Submitted in September 2024: opened in 2024, due in 2025.
    submitted = {2024: datetime(2024, 9, 20, 9, tzinfo=UTC), 2025: datetime(2025, 3, 1, 9, tzinfo=UTC)}
    plans = {year: uuid4() for year in submitted}
    commitments = {year: uuid4() for year in submitted}
    records = []
    for year, at in submitted.items():
        records.append(as_record(CommitmentAdded(
            plan_id=plans[year], commitment_id=commitments[year], member_id=member_id, number=1,
            title="Open budgets", added_at=at,
        )))  # fmt: skip
        records.append(as_record(PlanSubmitted(
            plan_id=plans[year], member_id=member_id, title="A national action plan", start_date=at.date(),
            end_date=date(2027, 1, 1), commitment_count=1, point_of_contact_id=uuid4(), submitted_at=at,
        )))  # fmt: skip

    async with running(IRM, env.settings(IrmSettings, "irm")) as rt, client(rt) as api:
        await produce(env.kafka.bootstrap, env.topic(topics.PLANS), records)

        async def both() -> tuple[list[dict[str, Any]], int]:
            r = await api.get("/v1/reviews", params={"member_id": str(member_id)})
            assert r.status_code == 200, r.text
            rows: list[dict[str, Any]] = r.json()
            known = await rt.pool.fetchval(
                "SELECT count(*) FROM irm_commitments WHERE member_id = $1", member_id
            )
            return rows, int(known)

        rows, _ = await eventually(both, until=lambda v: len(v[0]) >= 2 and v[1] >= 2)
        assert len(rows) == 2
        reviews = {r["plan_id"]: r for r in rows}
        early = reviews[str(plans[2024])]
        assert early["opened_on"] == "2024-09-20" and early["due_date"].startswith("2025-")

        for year, plan_id in plans.items():
            r = await api.get("/v1/reviews", params={"member_id": str(member_id), "year": year})
            assert [x["plan_id"] for x in r.json()] == [str(plan_id)], (year, r.text)
        assert (await api.get("/v1/reviews", params={"member_id": str(member_id), "year": 2026})).json() == []
        assert (await api.get("/v1/reviews", params={"year": 1999})).status_code == 422

        # An assessment's year is its review's.
        for year, plan_id in plans.items():
            url = f"/v1/reviews/{reviews[str(plan_id)]['id']}/assessments/{commitments[year]}"
            coded = await api.put(url, headers=IRM_STAFF, json={"verifiable": True})
            assert coded.status_code == 200, coded.text
        for year, plan_id in plans.items():
            params = {"member_id": str(member_id), "year": year}
            staff = await api.get("/v1/staff/assessments", params=params, headers=IRM_STAFF)
            assert [a["plan_id"] for a in staff.json()] == [str(plan_id)], (year, staff.text)
            export = await api.get("/v1/staff/export/assessments.json", params=params, headers=IRM_STAFF)
            assert [a["Action Plan ID"] for a in export.json()] == [str(plan_id)]
            # Not published: the public sees none, whatever the year.
            assert (await api.get("/v1/assessments", params=params)).json() == []

"""Plans and the IRM together over the real Kafka and Postgres: a plan with a commitment is
submitted, the IRM schedules its action plan review and learns the commitment from plans' events,
IRM staff code the commitment through the IRM's API, and plans shows the coding in the
commitment's ``irm`` block. The assessment is staff-only until the review is published."""

from __future__ import annotations

import csv
import io
from typing import Any

from services.irm.service import SPEC as IRM
from services.irm.settings import IrmSettings
from services.plans.service import SPEC as PLANS
from services.plans.settings import PlansSettings
from tests.conftest import Env, client, running, token
from tests.helpers import eventually

STAFF = token("staff", sub="staff-1")
IRM_STAFF = token("irm", sub="irm-1")


async def test_an_assessment_reaches_the_plans_commitment(env: Env) -> None:
    async with (
        running(PLANS, env.settings(PlansSettings, "plans", timers_enabled=False)) as plans_rt,
        running(IRM, env.settings(IrmSettings, "irm")) as irm_rt,
        client(plans_rt) as plans,
        client(irm_rt) as irm,
    ):
        member = await plans.post("/v1/members", headers=STAFF,
                                  json={"name": "Jordan", "kind": "national", "country_code": "JO"})  # fmt: skip
        assert member.status_code == 201, member.text
        plan = await plans.post("/v1/plans", headers=STAFF, json={
            "member_id": member.json()["id"], "title": "Sixth national action plan",
            "start_date": "2026-01-01", "end_date": "2028-01-01",
            "point_of_contact": {"name": "Lina Haddad", "email": "lina@example.org"},
        })  # fmt: skip
        assert plan.status_code == 201, plan.text
        pid = plan.json()["id"]
        assert (await plans.post(f"/v1/plans/{pid}/transitions", headers=STAFF,
                                 json={"to": "co_creation"})).status_code == 200  # fmt: skip
        commitment = await plans.post(f"/v1/plans/{pid}/commitments", headers=STAFF,
                                      json={"title": "Open budgets"})  # fmt: skip
        assert commitment.status_code == 201, commitment.text
        cid = commitment.json()["id"]
        assert (await plans.post(f"/v1/plans/{pid}/transitions", headers=STAFF,
                                 json={"to": "submitted"})).status_code == 200  # fmt: skip

        async def review() -> dict[str, Any] | None:
            rows: list[dict[str, Any]] = (await irm.get("/v1/reviews", params={"plan_id": pid})).json()
            return rows[0] if rows else None

        apr = await eventually(review)
        assert apr["kind"] == "action_plan_review"
        url = f"/v1/reviews/{apr['id']}/assessments/{cid}"

        async def known() -> bool:
            # The commitment is known once plans' CommitmentAdded is consumed: until then a 404.
            r = await irm.put(url, headers=IRM_STAFF, json={"verifiable": True})
            return r.status_code == 200

        await eventually(known)
        # Refusals over HTTP: the role, an unknown value, a field the product does not code.
        assert (await irm.put(url, headers=STAFF, json={"promising": True})).status_code == 403
        bad = await irm.put(url, headers=IRM_STAFF, json={"potential_for_results": "huge"})
        assert bad.status_code == 422 and "potential_for_results" in bad.text
        assert (await irm.put(url, headers=IRM_STAFF, json={"completion": "complete"})).status_code == 422

        coded = await irm.put(url, headers=IRM_STAFF, json={
            "relevance": {"access_to_information": True, "public_accountability": True},
            "potential_for_results": "Substantial", "promising": True,
        })  # fmt: skip
        assert coded.status_code == 200, coded.text
        assert coded.json()["potential_for_results"] == "substantial"

        async def irm_block() -> dict[str, Any] | None:
            body = (await plans.get(f"/v1/commitments/{cid}")).json()
            block: dict[str, Any] | None = body.get("irm", {}).get("action_plan_review")
            return block if block and block.get("promising") else None

        block = await eventually(irm_block)
        assert block["review_id"] == apr["id"]
        assert (block["scale_version"], block["verifiable"], block["potential_for_results"]) == (
            "irm-2021", True, "substantial",
        )  # fmt: skip
        assert block["relevance"]["access_to_information"] is True

        # Not verifiable: not assessed further (409 naming the rule).
        other = await irm.put(url, headers=IRM_STAFF, json={"verifiable": False})
        assert other.status_code == 200 and other.json()["potential_for_results"] is None
        refused = await irm.put(url, headers=IRM_STAFF, json={"promising": True})
        assert refused.status_code == 409 and "assessment.not_verifiable" in refused.text

        # Reads: the review is not published, so the public sees nothing and staff see it.
        assert (await irm.get("/v1/assessments", params={"plan_id": pid})).json() == []
        staff = (await irm.get("/v1/staff/assessments", params={"plan_id": pid}, headers=IRM_STAFF)).json()
        assert [(a["commitment_id"], a["commitment_title"], a["verifiable"]) for a in staff] == [
            (cid, "Open budgets", False)
        ]
        export = await irm.get("/v1/staff/export/assessments.csv", params={"plan_id": pid}, headers=IRM_STAFF)
        assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
        [row] = list(csv.DictReader(io.StringIO(export.text)))
        assert (row["Commitment Unique Identifier"], row["Commitment Title"], row["Verifiable"]) == (
            cid, "Open budgets", "No",
        )  # fmt: skip
        assert (row["IRM Product"], row["Scale Version"]) == ("action_plan_review", "irm-2021")
        assert (await irm.get("/v1/staff/export/assessments.csv")).status_code == 401
        comparison = (await irm.get(f"/v1/plans/{pid}/completion-comparison")).json()
        assert comparison["agreement_rate"] is None
        assert [c["commitment_id"] for c in comparison["commitments"]] == [cid]

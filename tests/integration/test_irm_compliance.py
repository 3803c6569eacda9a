"""Co-creation compliance over the real broker and database, the consultation and IRM services in
this process on one Kafka: a plan created about seven months ago (plans' events, produced here as
plans would) → consultation opens its co-creation → the forum is established and meets (government
and civil society), a round announced at short notice takes comments, the government answers
them and publishes the response table; one repository document → the plan is submitted (the
round and co-creation close, the APR is scheduled) → the IRM's pre-filled compliance shows each
requirement met or not met with consultation's event ids → the researcher overrides one with a
reason (refusals: no reason, not assigned, wrong role, public before publication) → the APR is
published through the reviews API → ComplianceAssessed (minimum not met: the short notice) and
ActedContraryToProcess on the IRM topic; the compliance is fixed and public."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from services.consultation.service import SPEC as CONSULTATION
from services.consultation.settings import ConsultationSettings
from services.irm.service import SPEC as IRM
from services.irm.settings import IrmSettings
from shared.events import topics
from shared.events.irm import ActedContraryToProcess, ComplianceAssessed
from shared.events.plans import DocumentPublished, DocumentType, Language, PlanCreated, PlanSubmitted
from tests.conftest import Env, client, running, token
from tests.helpers import as_record, assert_problem, eventually, header, produce, read_topic

IRM_STAFF = token("irm", sub="irm-staff")
RESEARCHER = token("researcher", sub="res-1")
OTHER_RESEARCHER = token("researcher", sub="res-2")
PARTICIPANT = token("participant", sub="citizen-1")


async def event_ids(pool: asyncpg.Pool, event_type: str) -> list[str]:
    rows = await pool.fetch("SELECT event_id FROM outbox WHERE event_type = $1 ORDER BY id", event_type)
    return [str(r["event_id"]) for r in rows]


def by_requirement(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["requirement"]: r for r in body["requirements"]}


async def test_co_creation_compliance_from_consultation_events_to_a_finding(env: Env) -> None:
    plan_id, member_id = uuid4(), uuid4()
    gov = token("government", sub="poc-1", member_ids=[str(member_id)])
    now = datetime.now(UTC)
    today = now.date()
    created = PlanCreated(
        plan_id=plan_id, member_id=member_id, title="Sixth national action plan", start_date=today,
        end_date=today + timedelta(days=730), point_of_contact_id=uuid4(), created_at=now - timedelta(days=200),
    )  # fmt: skip
    cons_settings = env.settings(
        ConsultationSettings, "consultation", timers_interval_s=0.3, public_base_url="https://ogp.example.org"
    )
    async with (
        running(CONSULTATION, cons_settings) as cons_rt,
        running(IRM, env.settings(IrmSettings, "irm")) as irm_rt,
        client(cons_rt) as cons,
        client(irm_rt) as irm,
    ):
        plans_topic = env.topic(topics.PLANS)
        await produce(env.kafka.bootstrap, plans_topic, [as_record(created)])

        async def space_open() -> bool:
            return (await cons.get(f"/v1/plans/{plan_id}/co-creation")).status_code == 200

        await eventually(space_open)

        # --- the forum (standard 1): established with public rules, meets with both sectors ---------
        r = await cons.post("/v1/forums", headers=gov, json={
            "member_id": str(member_id), "name": "OGP Steering Committee",
            "rules_url": "https://ogp.example.org/rules", "established_on": "2024-06-01",
        })  # fmt: skip
        assert r.status_code == 201, r.text
        fid = r.json()["id"]
        for days_ago in (150, 10):
            r = await cons.post(f"/v1/forums/{fid}/meetings", headers=gov, json={
                "held_on": (today - timedelta(days=days_ago)).isoformat(), "phase": "co_creation",
                "plan_id": str(plan_id), "agenda": "Draft plan", "attendance": {"government": 4, "civil_society": 6},
            })  # fmt: skip
            assert r.status_code == 201, r.text

        # --- a round at short notice (standard 3), answered in a table (standard 4) ----------------
        opens = datetime.now(UTC) + timedelta(seconds=1)
        r = await cons.post(f"/v1/plans/{plan_id}/rounds", headers=gov, json={
            "kind": "draft_plan", "title": "Draft plan", "opens_at": opens.isoformat(),
            "closes_at": (opens + timedelta(hours=2)).isoformat(),
        })  # fmt: skip
        assert r.status_code == 201, r.text
        rnd = r.json()
        assert rnd["short_notice"] is True

        async def round_open() -> bool:
            return (await cons.get(f"/v1/rounds/{rnd['id']}")).json()["state"] == "open"

        await eventually(round_open, timeout=10)
        ids = []
        for n in range(2):
            r = await cons.post(f"/v1/rounds/{rnd['id']}/comments", headers=token("participant", sub=f"p{n}"),
                                json={"body": f"Open the budget, point {n}", "stakeholder_type": "civil_society"})  # fmt: skip
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        r = await cons.post(f"/v1/rounds/{rnd['id']}/responses", headers=gov,
                            json={"input_ids": ids, "decision": "accepted", "rationale": "Added as milestone 2"})  # fmt: skip
        assert r.status_code == 201, r.text
        r = await cons.post(f"/v1/rounds/{rnd['id']}/response-tables", headers=gov, json={})
        assert r.status_code == 201, r.text

        # --- one repository update (standard 2: two were needed over the period), then submission --
        document = DocumentPublished(
            document_id=uuid4(), plan_id=plan_id, member_id=member_id, type=DocumentType.DRAFT,
            title="Draft plan", url="https://ogp.example.org/draft.pdf", language=Language.EN,
            published_on=today - timedelta(days=60), published_at=now - timedelta(days=60),
        )  # fmt: skip
        submitted = PlanSubmitted(
            plan_id=plan_id, member_id=member_id, title=created.title, start_date=created.start_date,
            end_date=created.end_date, commitment_count=0, point_of_contact_id=created.point_of_contact_id,
            submitted_at=datetime.now(UTC),
        )  # fmt: skip
        await produce(env.kafka.bootstrap, plans_topic, [as_record(document), as_record(submitted)])

        async def apr() -> str | None:
            rows = (await irm.get("/v1/reviews", params={"plan_id": str(plan_id)})).json()
            return next((x["id"] for x in rows if x["kind"] == "action_plan_review"), None)

        rid = await eventually(apr)
        compliance = f"/v1/reviews/{rid}/compliance"

        async def prefilled() -> dict[str, dict[str, Any]] | None:
            r = await irm.get(compliance, headers=IRM_STAFF)
            assert r.status_code == 200, r.text
            reqs = by_requirement(r.json())
            closed = reqs["open_opportunity_for_input"]["status"] == "met"
            answered = reqs["reasoned_response"]["status"] == "met"
            return (
                reqs if closed and answered and reqs["repository_updated_twice_a_year"]["evidence"] else None
            )

        reqs = await eventually(prefilled)
        assert {k: v["status"] for k, v in reqs.items()} == {
            "forum_multi_stakeholder": "met",
            "forum_meets_every_six_months": "met",
            "forum_rules_public": "met",
            "repository_updated_twice_a_year": "not_met",
            "advance_notice": "not_met",
            "open_opportunity_for_input": "met",
            "reasoned_response": "met",
        }
        # The evidence names consultation's (and plans') events.
        [scheduled_id] = await event_ids(cons_rt.pool, "ogp.consultation.consultation_scheduled.v1")
        [table_id] = await event_ids(cons_rt.pool, "ogp.consultation.response_table_published.v1")
        [forum_id] = await event_ids(cons_rt.pool, "ogp.consultation.forum_established.v1")
        meeting_ids = await event_ids(cons_rt.pool, "ogp.consultation.forum_meeting_held.v1")
        assert reqs["advance_notice"]["evidence"][0]["event_id"] == scheduled_id
        assert reqs["reasoned_response"]["evidence"][0]["event_id"] == table_id
        assert reqs["forum_rules_public"]["evidence"][0]["event_id"] == forum_id
        assert [e["event_id"] for e in reqs["forum_multi_stakeholder"]["evidence"]] == meeting_ids
        assert "civil_society 6" in reqs["forum_multi_stakeholder"]["evidence"][0]["note"]
        assert (
            reqs["repository_updated_twice_a_year"]["evidence"][0]["on"] == document.published_on.isoformat()
        )

        # --- before publication: not public; the assigned researcher decides ------------------------
        assert_problem(await irm.get(compliance), 404)
        assert_problem(await irm.get(compliance, headers=PARTICIPANT), 403)
        r = await irm.post("/v1/researchers", json={"subject": "res-1", "name": "R. One"}, headers=IRM_STAFF)
        assert r.status_code == 201, r.text
        r = await irm.post(
            f"/v1/reviews/{rid}/assignment", json={"researcher_id": r.json()["id"]}, headers=IRM_STAFF
        )
        assert r.status_code == 200, r.text

        repository = f"{compliance}/repository_updated_twice_a_year"
        assert_problem(
            await irm.put(repository, json={"status": "met"}, headers=RESEARCHER), 422, field="reason"
        )
        assert_problem(
            await irm.put(repository, json={"status": "met", "reason": "x"}, headers=OTHER_RESEARCHER), 403
        )
        assert_problem(
            await irm.put(repository, json={"status": "met", "reason": "x"}, headers=PARTICIPANT), 403
        )
        r = await irm.put(repository, headers=RESEARCHER, json={
            "status": "met", "reason": "The ministry's portal was updated in March and May",
        })  # fmt: skip
        assert r.status_code == 200, r.text
        decided = by_requirement(r.json())["repository_updated_twice_a_year"]
        assert (decided["status"], decided["prefilled"], decided["overridden"]) == ("met", "not_met", True)
        r = await irm.put(f"{compliance}/advance_notice", headers=RESEARCHER, json={"status": "not_met"})
        assert r.status_code == 200 and by_requirement(r.json())["advance_notice"]["confirmed"], r.text

        # --- the APR through the reviews API: draft, steps, publish -------------------------------
        r = await irm.post(f"/v1/reviews/{rid}/draft", json={"draft_url": "https://irm.example.org/d.pdf"},
                           headers=RESEARCHER)  # fmt: skip
        assert r.status_code == 200, r.text
        for step in ("pre_publication", "public_comment"):
            r = await irm.post(f"/v1/reviews/{rid}/steps", json={"to": step}, headers=RESEARCHER)
            assert r.status_code == 200, r.text
        report = {"title": "Action Plan Review", "url": "https://irm.example.org/apr.pdf"}
        r = await irm.post(f"/v1/reviews/{rid}/publish", json=report, headers=RESEARCHER)
        assert (r.status_code, r.json()["state"]) == (200, "published"), r.text

        assert_problem(
            await irm.put(repository, json={"status": "not_met"}, headers=RESEARCHER),
            409,
            rule="compliance.review_published",
        )
        public = (await irm.get(compliance)).json()
        assert (public["fixed"], public["minimum_met"]) == (True, False)
        assert by_requirement(public)["repository_updated_twice_a_year"]["reason"].startswith(
            "The ministry's"
        )
        listed = (await irm.get("/v1/compliance", params={"member_id": str(member_id)})).json()
        assert [c["review_id"] for c in listed] == [rid]

        records = await read_topic(
            env.kafka.bootstrap, env.topic(topics.IRM),
            # Keyed by plan and by member: two partitions, read until both have arrived.
            until=lambda rs: {ComplianceAssessed.event_type, ActedContraryToProcess.event_type}
            <= {header(x, "ce_type") for x in rs},
            timeout=20,
        )  # fmt: skip
        bodies = {header(x, "ce_type"): json.loads(x.value) for x in records}
        assessed = bodies[ComplianceAssessed.event_type]
        assert (assessed["review_id"], assessed["product"], assessed["minimum_met"]) == (
            rid, "action_plan_review", False,
        )  # fmt: skip
        notice = next(x for x in assessed["requirements"] if x["requirement"] == "advance_notice")
        assert notice["status"] == "not_met" and any(scheduled_id in e for e in notice["evidence"])
        acted = bodies[ActedContraryToProcess.event_type]
        assert (acted["member_id"], acted["plan_id"], acted["reason"]) == (
            str(member_id), str(plan_id), "co_creation_minimum_not_met",
        )  # fmt: skip
        findings = (await irm.get("/v1/findings", params={"plan_id": str(plan_id)})).json()
        assert [(f["reason"], f["source"]) for f in findings] == [("co_creation_minimum_not_met", "review")]
        assert UUID(acted["finding_id"]) == UUID(findings[0]["id"])
        assert date.fromisoformat(public["as_of"]) == today

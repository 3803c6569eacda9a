"""Plans and consultation together, over the real Kafka: the plan's co-creation space opens from
plans events, the forum and a round run, the reasoned-response table and the forum's minutes land
in the plan's repository, and submission closes co-creation with the cycle's report."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.consultation.service import SPEC as CONSULTATION
from services.consultation.settings import ConsultationSettings
from services.plans.service import SPEC as PLANS
from services.plans.settings import PlansSettings
from shared.events import topics
from tests.conftest import Env, client, running, token
from tests.helpers import eventually, header, ok, read_topic

STAFF = token("staff", sub="staff-1")


async def test_a_plan_co_created_from_first_idea_to_submission(env: Env) -> None:
    consultation_settings = env.settings(
        ConsultationSettings, "consultation", timers_interval_s=0.3, public_base_url="https://ogp.example.org"
    )
    plans_settings = env.settings(PlansSettings, "plans", timers_enabled=False)
    async with (
        running(PLANS, plans_settings) as plans_rt,
        running(CONSULTATION, consultation_settings) as cons_rt,
        client(plans_rt) as plans,
        client(cons_rt) as cons,
    ):
        member = ok(await plans.post("/v1/members", headers=STAFF,
                                   json={"name": "Kenya", "kind": "national", "country_code": "KE"}))  # fmt: skip
        gov = token("government", sub="poc-ke", member_ids=[member["id"]])
        plan = ok(await plans.post("/v1/plans", headers=gov, json={
            "member_id": member["id"], "title": "Kenya NAP 2026-2028", "start_date": "2026-09-01",
            "end_date": "2028-08-31", "point_of_contact": {"name": "A. Otieno", "email": "poc@example.ke", "language": "en"},
        }))  # fmt: skip
        pid = plan["id"]
        assert (
            await plans.post(f"/v1/plans/{pid}/transitions", headers=gov, json={"to": "co_creation"})
        ).status_code == 200
        commitment = ok(await plans.post(f"/v1/plans/{pid}/commitments", headers=gov,
                                       json={"title": "Open contracting in counties"}))  # fmt: skip

        async def space() -> dict[str, Any] | None:
            r = await cons.get(f"/v1/plans/{pid}/co-creation")
            body: dict[str, Any] = r.json()
            return body if r.status_code == 200 and body["commitments"] else None

        opened = await eventually(space)
        assert opened["state"] == "open" and opened["commitments"][0]["commitment_id"] == commitment["id"]

        # The forum meets about this plan; its minutes are a repository document.
        forum = await cons.post("/v1/forums", headers=gov, json={
            "member_id": member["id"], "name": "Kenya OGP Steering Committee",
            "rules_url": "https://ogp.example.ke/rules", "established_on": "2025-01-15",
        })  # fmt: skip
        assert forum.status_code == 201, forum.text
        fid = forum.json()["id"]
        meeting = await cons.post(f"/v1/forums/{fid}/meetings", headers=gov, json={
            "held_on": date.today().isoformat(), "phase": "co_creation", "plan_id": pid, "agenda": "Draft plan",
            "minutes_url": "https://ogp.example.ke/minutes/1", "attendance": {"government": 5, "civil_society": 7},
        })  # fmt: skip
        assert meeting.status_code == 201, meeting.text

        # A round on the commitment's draft: comments, an answer, the published table.
        opens = datetime.now(UTC) - timedelta(seconds=1)
        rnd = ok(await cons.post(f"/v1/plans/{pid}/rounds", headers=gov, json={
            "kind": "commitment_draft", "commitment_id": commitment["id"], "title": "Draft commitment 1",
            "opens_at": opens.isoformat(), "closes_at": (opens + timedelta(hours=1)).isoformat(),
        }))  # fmt: skip

        async def round_open() -> bool:
            return (await cons.get(f"/v1/rounds/{rnd['id']}")).json()["state"] == "open"

        await eventually(round_open, timeout=10)
        ids = []
        for n in range(3):
            r = await cons.post(f"/v1/rounds/{rnd['id']}/comments", headers=token("participant", sub=f"p{n}"),
                                json={"body": f"Publish county contracts, point {n}", "stakeholder_type": "civil_society"})  # fmt: skip
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        item = (await cons.get(f"/v1/inputs/{ids[0]}")).json()
        assert item["anchor"]["commitment_id"] == commitment["id"]
        r = await cons.post(f"/v1/rounds/{rnd['id']}/responses", headers=gov,
                            json={"input_ids": ids, "decision": "partly_accepted", "rationale": "Counties with e-procurement first"})  # fmt: skip
        assert r.status_code == 201, r.text
        table = ok(await cons.post(f"/v1/rounds/{rnd['id']}/response-tables", headers=gov, json={}))

        async def documents() -> list[dict[str, Any]]:
            docs: list[dict[str, Any]] = (await plans.get(f"/v1/plans/{pid}/documents")).json()
            return docs

        docs = {d["type"]: d for d in await eventually(documents, until=lambda ds: len(ds) >= 2)}
        assert len(docs) == 2
        assert docs["reasoned_response"]["url"] == table["csv_url"]
        assert docs["minutes"]["url"] == "https://ogp.example.ke/minutes/1"

        # Submission closes co-creation; the round closes with the plan and the cycle is reported.
        assert (
            await plans.post(f"/v1/plans/{pid}/transitions", headers=gov, json={"to": "submitted"})
        ).status_code == 200

        async def closed() -> bool:
            return (await cons.get(f"/v1/rounds/{rnd['id']}")).json()["close_reason"] == "plan_submitted"

        await eventually(closed)
        assert (await cons.get(f"/v1/plans/{pid}/co-creation")).json()["state"] == "closed"

        # Implementation: two meetings with civil society (standard 5), then a new cycle report.
        for day in (1, 2):
            r = await cons.post(f"/v1/forums/{fid}/meetings", headers=gov, json={
                "held_on": (date.today() - timedelta(days=day)).isoformat(), "phase": "implementation",
                "plan_id": pid, "agenda": "Progress", "attendance": {"government": 3, "civil_society": 4},
            })  # fmt: skip
            assert r.status_code == 201
        latest = ok(await cons.post(f"/v1/plans/{pid}/participation-reports", headers=gov))
        assert (latest["forum_meetings"], latest["implementation_meetings"]) == (3, 2)

    records = await read_topic(env.kafka.bootstrap, env.topic(topics.CONSULTATION), timeout=3)
    reports = [r for r in records if header(r, "ce_type") == "ogp.consultation.participation_reported.v1"]
    scopes = sorted(json.loads(r.value)["scope"] for r in reports)
    assert scopes == ["cycle", "cycle", "round"]
    submitted_cycle = next(json.loads(r.value) for r in reports if b'"cycle"' in r.value)
    assert (
        submitted_cycle["comments"] == 3
        and submitted_cycle["answered"] == 3
        and submitted_cycle["forum_meetings"] == 1
    )

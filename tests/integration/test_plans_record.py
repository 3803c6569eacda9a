"""The plans service's record of the OGP process, through its HTTP API and its events, against
the real database and broker: commitments, milestones, self-assessments, the repository, member
standing, eligibility and what the IRM's events change."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from services.plans.service import SPEC as PLANS
from services.plans.settings import PlansSettings
from shared.auth import person_id
from shared.events import topics
from shared.events.irm import (
    ActedContraryToProcess,
    CommitmentAssessed,
    ProceduralReviewLifted,
    ProceduralReviewStarted,
    ReviewKind,
)
from shared.runtime import Runtime
from tests.conftest import Env, running, token
from tests.helpers import as_record, eventually, ok, produce

STAFF = token("staff")


@pytest.fixture
async def rt(env: Env) -> AsyncIterator[Runtime]:
    async with running(PLANS, env.settings(PlansSettings, "plans")) as runtime:
        yield runtime


async def outbox_types(rt: Runtime) -> list[str]:
    return [r["event_type"] for r in await rt.pool.fetch("SELECT event_type FROM outbox ORDER BY id")]


async def outbox_payloads(rt: Runtime, event_type: str) -> list[dict[str, Any]]:
    rows = await rt.pool.fetch("SELECT payload FROM outbox WHERE event_type = $1 ORDER BY id", event_type)
    return [json.loads(r["payload"]) for r in rows]


async def new_plan(api: httpx.AsyncClient, *, years: int = 2, kind: str = "national") -> tuple[str, str]:
    m = ok(
        await api.post(
            "/v1/members",
            json={"name": "Kenya", "kind": kind, "country_code": "KE", "region": "Africa"},
            headers=STAFF,
        )
    )
    r = await api.post(
        "/v1/plans",
        headers=STAFF,
        json={
            "member_id": m["id"],
            "title": "Fifth national action plan",
            "start_date": "2025-01-01",
            "end_date": f"{2025 + years}-01-01",
            "point_of_contact": {"name": "A. Otieno", "email": "a@example.org"},
        },
    )
    assert r.status_code == 201, r.text
    return m["id"], r.json()["id"]


async def move(api: httpx.AsyncClient, pid: str, *states: str) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for s in states:
        r = await api.post(f"/v1/plans/{pid}/transitions", json={"to": s}, headers=STAFF)
        assert r.status_code == 200, r.text
        body = r.json()
    return body


FULL = {
    "original_language": "fr",
    "title": {
        "fr": "Registre des bénéficiaires effectifs",
        "en": "Beneficial ownership register",
        "ar": "سجل المستفيدين الحقيقيين",
    },
    "problem": {"fr": "Les sociétés écrans cachent la corruption."},
    "baseline": "Aucun registre public en 2024.",
    "status_quo": "Le registre existe mais n'est pas public.",
    "objective": {
        "fr": "Publier le registre en données ouvertes.",
        "en": "Publish the register as open data.",
    },
    "how_it_solves": "Les journalistes et la société civile peuvent suivre les propriétaires.",
    "ambition": "Couverture de toutes les sociétés.",
    "start_date": "2025-03-01",
    "end_date": "2026-12-31",
    "lead_agency": "Ministère de la Justice",
    "responsible_person": "Directrice des registres",
    "supporting_government": ["Registre du commerce"],
    "supporting_other": ["Transparency International"],
    "values": {"access_to_information": True, "public_accountability": True, "technology_innovation": True},
    "policy_areas": ["Beneficial Ownership", "anti-corruption"],
    "budget_amount": 250000,
    "budget_currency": "EUR",
    "sdg_targets": ["16.5", "16.10"],
    "other_plan_links": ["https://example.org/national-strategy"],
}


async def test_the_full_commitment_template_in_several_languages(api: httpx.AsyncClient, rt: Runtime) -> None:
    _, pid = await new_plan(api)
    await move(api, pid, "co_creation")
    r = await api.post(f"/v1/plans/{pid}/commitments", json=FULL, headers=STAFF)
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["title"]["ar"] == "سجل المستفيدين الحقيقيين"
    assert c["original_language"] == "fr"
    assert c["texts"]["baseline"] == {"fr": "Aucun registre public en 2024."}
    assert c["values"]["technology_innovation"] is True
    assert c["policy_areas"] == ["anti-corruption", "beneficial ownership"]
    added = (await outbox_payloads(rt, "ogp.plans.commitment_added.v1"))[0]
    assert added["commitment"]["texts"]["objective"]["en"] == "Publish the register as open data."
    assert added["title"] == "Registre des bénéficiaires effectifs"  # the original language
    public = (await api.get(f"/v1/commitments/{c['id']}")).json()
    assert public["lead_agency"] == "Ministère de la Justice"


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"values": {"technology_innovation": True}}, "values.technology_innovation"),
        ({"original_language": "es", "title": {"en": "T"}}, "title"),
        ({"start_date": "2026-01-01", "end_date": "2025-01-01"}, "end_date"),
        ({"budget_currency": "euro"}, "budget_currency"),
        ({"sdg_targets": ["goal sixteen"]}, "sdg_targets.0"),
        ({"title": {"xx": "?"}}, "title.dict[enum,str].xx.[key]"),
    ],
)
async def test_template_rules_name_the_field(
    api: httpx.AsyncClient, patch: dict[str, Any], field: str
) -> None:
    _, pid = await new_plan(api)
    await move(api, pid, "co_creation")
    r = await api.post(f"/v1/plans/{pid}/commitments", json={"title": "T", **patch}, headers=STAFF)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    fields = [e["field"] for e in r.json()["errors"]]
    assert any(f == field or f.startswith(field.split(".")[0]) for f in fields), fields


async def test_every_change_is_in_the_history_and_versions_guard_concurrent_edits(
    api: httpx.AsyncClient, rt: Runtime
) -> None:
    _, pid = await new_plan(api)
    await move(api, pid, "co_creation")
    cid = ok(await api.post(f"/v1/plans/{pid}/commitments", json=FULL, headers=STAFF))["id"]
    r = await api.patch(
        f"/v1/commitments/{cid}",
        json={
            "lead_agency": "Ministère des Finances",
            "expected_version": 1,
            "objective": {"es": "Publicar el registro."},
        },
        headers=STAFF,
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2
    assert r.json()["texts"]["objective"] == {
        "fr": "Publier le registre en données ouvertes.",
        "en": "Publish the register as open data.",
        "es": "Publicar el registro.",
    }
    stale = await api.patch(
        f"/v1/commitments/{cid}", json={"lead_agency": "X", "expected_version": 1}, headers=STAFF
    )
    assert stale.status_code == 409
    assert stale.json()["rule"] == "commitment.version_mismatch"
    history = (await api.get(f"/v1/commitments/{cid}/history")).json()
    assert [h["action"] for h in history] == ["created", "updated"]
    assert history[1]["by"] == str(person_id("tester"))  # never the token's subject
    assert history[1]["changes"]["lead_agency"] == {
        "from": "Ministère de la Justice",
        "to": "Ministère des Finances",
    }
    updated = await outbox_payloads(rt, "ogp.plans.commitment_updated.v1")
    assert updated[0]["changed_fields"] == ["lead_agency", "texts"]


async def test_commitments_follow_the_plan_and_freeze_after_submission(
    api: httpx.AsyncClient, rt: Runtime
) -> None:
    _, pid = await new_plan(api, years=4)
    await move(api, pid, "co_creation")
    ids = [
        ok(await api.post(f"/v1/plans/{pid}/commitments", json={"title": f"C{i}"}, headers=STAFF))["id"]
        for i in range(3)
    ]
    r = await api.post(f"/v1/commitments/{ids[2]}/transitions", json={"to": "withdrawn"}, headers=STAFF)
    assert r.status_code == 422  # a withdrawal needs a public reason
    r = await api.post(
        f"/v1/commitments/{ids[2]}/transitions",
        json={"to": "withdrawn", "reason": "merged into C1"},
        headers=STAFF,
    )
    assert r.json()["state"] == "withdrawn"
    plan = await move(api, pid, "submitted")
    assert plan["commitment_count"] == 2
    states = {c["id"]: c["state"] for c in (await api.get(f"/v1/plans/{pid}/commitments")).json()}
    assert states == {ids[0]: "adopted", ids[1]: "adopted", ids[2]: "withdrawn"}
    assert len(await outbox_payloads(rt, "ogp.plans.commitment_adopted.v1")) == 2
    frozen = await api.patch(f"/v1/commitments/{ids[0]}", json={"lead_agency": "X"}, headers=STAFF)
    assert frozen.status_code == 409 and frozen.json()["rule"] == "commitment.frozen"
    assert (
        await api.post(f"/v1/plans/{pid}/commitments", json={"title": "late"}, headers=STAFF)
    ).status_code == 409
    # The 4-year plan's refresh window reopens editing, once.
    await move(api, pid, "implementing", "refreshing")
    assert (
        await api.patch(f"/v1/commitments/{ids[0]}", json={"lead_agency": "X"}, headers=STAFF)
    ).status_code == 200
    await move(api, pid, "implementing")
    again = await api.post(f"/v1/plans/{pid}/transitions", json={"to": "refreshing"}, headers=STAFF)
    assert again.status_code == 409 and again.json()["rule"] == "plan.refresh_once"
    assert "ogp.plans.plan_implementation_started.v1" in await outbox_types(rt)


async def test_milestone_progress_rolls_up_by_weight(api: httpx.AsyncClient, rt: Runtime) -> None:
    _, pid = await new_plan(api)
    await move(api, pid, "co_creation")
    c1 = ok(await api.post(f"/v1/plans/{pid}/commitments", json={"title": "C1"}, headers=STAFF))["id"]
    c2 = ok(await api.post(f"/v1/plans/{pid}/commitments", json={"title": "C2"}, headers=STAFF))["id"]
    m = []
    for weight in (1, 3):
        r = await api.post(
            f"/v1/commitments/{c1}/milestones",
            headers=STAFF,
            json={
                "title": f"Deliverable w{weight}",
                "deliverable": "a public dataset",
                "weight": weight,
                "start_date": "2025-02-01",
                "end_date": "2025-12-31",
            },
        )
        assert r.status_code == 201, r.text
        m.append(r.json()["id"])
    early = await api.post(
        f"/v1/milestones/{m[0]}/progress", json={"status": "in_progress", "progress": 10}, headers=STAFF
    )
    assert early.status_code == 409 and early.json()["rule"] == "plan.progress_not_open"
    await move(api, pid, "submitted", "implementing")
    r = await api.post(
        f"/v1/milestones/{m[0]}/progress",
        headers=STAFF,
        json={
            "status": "completed",
            "evidence": [{"url": "https://data.example.org/bo", "title": "dataset"}],
        },
    )
    assert r.status_code == 200, r.text
    r = await api.post(
        f"/v1/milestones/{m[1]}/progress",
        json={"status": "delayed", "progress": 20, "end_date": "2026-06-30"},
        headers=STAFF,
    )
    assert r.json()["end_date"] == "2026-06-30"
    c = (await api.get(f"/v1/commitments/{c1}")).json()
    assert c["progress"] == 40.0  # (1*100 + 3*20) / 4
    plan = (await api.get(f"/v1/plans/{pid}")).json()
    assert plan["progress"] == 20.0  # C1 40, C2 0
    bad = await api.post(
        f"/v1/milestones/{m[0]}/progress", json={"status": "in_progress", "progress": 50}, headers=STAFF
    )
    assert bad.status_code == 422 and bad.json()["rule"] == "milestone.transition_not_allowed"
    assert (
        await api.post(
            f"/v1/milestones/{m[1]}/progress", json={"status": "in_progress", "progress": 100}, headers=STAFF
        )
    ).status_code == 422
    progress = await outbox_payloads(rt, "ogp.plans.milestone_progress_updated.v1")
    assert progress[-1]["commitment_progress"] == 40.0 and progress[-1]["plan_progress"] == 20.0
    assert len(await outbox_payloads(rt, "ogp.plans.milestone_completed.v1")) == 1
    assert (await outbox_payloads(rt, "ogp.plans.milestone_delayed.v1"))[0]["end_date"] == "2026-06-30"
    updates = (await api.get(f"/v1/milestones/{m[0]}/updates")).json()
    assert updates[0]["evidence"][0]["url"] == "https://data.example.org/bo"
    # Self-assessment at the end of the term, and the repository.
    r = await api.put(f"/v1/commitments/{c2}/self-assessment", json={"completion": "limited"}, headers=STAFF)
    assert r.status_code == 200
    assert (await api.get(f"/v1/commitments/{c2}")).json()["self_assessment"]["completion"] == "limited"
    doc = await api.post(
        f"/v1/plans/{pid}/documents",
        headers=STAFF,
        json={
            "type": "minutes",
            "title": "Forum meeting 3",
            "url": "https://ogp.example.org/m3.pdf",
            "language": "en",
            "published_on": "2025-06-01",
        },
    )
    assert doc.status_code == 201, doc.text
    assert (await api.get(f"/v1/plans/{pid}/documents")).json()[0]["title"] == "Forum meeting 3"
    assert (await outbox_payloads(rt, "ogp.plans.document_published.v1"))[0]["type"] == "minutes"


async def test_access_rules(api: httpx.AsyncClient) -> None:
    mid, pid = await new_plan(api)
    await move(api, pid, "co_creation")
    own, other = token("government", member_ids=[mid]), token("government", member_ids=[str(uuid4())])
    assert (
        await api.post(f"/v1/plans/{pid}/commitments", json={"title": "x"}, headers=own)
    ).status_code == 201
    assert (
        await api.post(f"/v1/plans/{pid}/commitments", json={"title": "x"}, headers=other)
    ).status_code == 403
    assert (
        await api.post(f"/v1/plans/{pid}/commitments", json={"title": "x"}, headers=token("participant"))
    ).status_code == 403
    assert (await api.post(f"/v1/plans/{pid}/commitments", json={"title": "x"})).status_code == 401
    assert (
        await api.post(
            f"/v1/members/{mid}/status", json={"status": "inactive", "reason": "asked"}, headers=own
        )
    ).status_code == 403
    assert (
        await api.put(f"/v1/members/{mid}/eligibility/2025", json={"year": 2025}, headers=own)
    ).status_code == 403
    assert (
        await api.post(f"/v1/plans/{pid}/transitions", json={"to": "submitted"}, headers=other)
    ).status_code == 403


async def test_eligibility_is_computed_and_stored(api: httpx.AsyncClient, rt: Runtime) -> None:
    mid, _ = await new_plan(api)
    body = {
        "year": 2025,
        "budget_proposal_published": True,
        "audit_report_published": True,
        "access_to_information": "constitutional",
        "asset_disclosure_law": True,
        "asset_disclosures_public": False,
        "civil_liberties": 3,
    }
    r = await api.put(f"/v1/members/{mid}/eligibility/2025", json=body, headers=STAFF)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "eligible"  # 4 + 3 + 2 + 3 = 12/16 = 75%
    assert r.json()["points_earned"] == 12
    r = await api.put(
        f"/v1/members/{mid}/eligibility/2025", json={**body, "civil_liberties": 2}, headers=STAFF
    )
    assert r.json()["status"] == "not_eligible"
    stored = (await api.get(f"/v1/members/{mid}/eligibility")).json()
    assert [s["status"] for s in stored] == ["not_eligible"]  # re-scoring replaces the year
    assert (
        await api.put(
            f"/v1/members/{mid}/eligibility/2025", json={**body, "civil_liberties": 5}, headers=STAFF
        )
    ).status_code == 422
    assert (await api.put(f"/v1/members/{mid}/eligibility/2024", json=body, headers=STAFF)).status_code == 422
    scored = await outbox_payloads(rt, "ogp.plans.eligibility_scored.v1")
    assert [s["status"] for s in scored] == ["eligible", "not_eligible"]


async def test_member_standing_from_staff_and_from_irm_findings(
    env: Env, api: httpx.AsyncClient, rt: Runtime
) -> None:
    mid, pid = await new_plan(api)
    now = datetime.now(UTC)
    first = ActedContraryToProcess(member_id=UUID(mid), plan_id=UUID(pid), reason="no_new_plan", found_at=now)
    second = ActedContraryToProcess(member_id=UUID(mid), reason="co_creation_minimum_not_met", found_at=now)
    await produce(env.kafka.bootstrap, env.topic(topics.IRM), [as_record(first, service="irm")])

    async def status() -> str:
        return str((await api.get(f"/v1/members/{mid}")).json()["status"])

    await eventually(lambda: _is(status, "acted_contrary_to_process"))
    await produce(env.kafka.bootstrap, env.topic(topics.IRM), [as_record(second, service="irm")])
    # A second finding is not a procedural review by itself: the IRM counts consecutive cycles and
    # says so with ProceduralReviewStarted, which plans reflects.
    started = ProceduralReviewStarted(member_id=UUID(mid), reason="two consecutive cycles", started_at=now)
    await produce(env.kafka.bootstrap, env.topic(topics.IRM), [as_record(started, service="irm")])
    await eventually(lambda: _is(status, "under_procedural_review"))
    lifted = ProceduralReviewLifted(member_id=UUID(mid), lifted_at=now)
    await produce(env.kafka.bootstrap, env.topic(topics.IRM), [as_record(lifted, service="irm")])
    await eventually(lambda: _is(status, "participating"))
    history = (await api.get(f"/v1/members/{mid}/status-history")).json()
    assert [h["to_status"] for h in history] == [
        "acted_contrary_to_process",
        "acted_contrary_to_process",
        "under_procedural_review",
        "participating",
    ]
    assert history[0]["source"] == "ogp.irm.acted_contrary_to_process.v1"
    r = await api.post(
        f"/v1/members/{mid}/status",
        json={"status": "withdrawn", "reason": "letter of 2026-01-10"},
        headers=STAFF,
    )
    assert r.status_code == 200
    bad = await api.post(
        f"/v1/members/{mid}/status",
        json={"status": "under_procedural_review", "reason": "x y z"},
        headers=STAFF,
    )
    assert bad.status_code == 409
    changed = await outbox_payloads(rt, "ogp.plans.member_status_changed.v1")
    assert [c["to_status"] for c in changed][-1] == "withdrawn"


async def test_irm_assessments_fill_the_commitment_block(env: Env, api: httpx.AsyncClient) -> None:
    mid, pid = await new_plan(api)
    await move(api, pid, "co_creation")
    cid = ok(
        await api.post(f"/v1/plans/{pid}/commitments", json={"title": "Open contracting"}, headers=STAFF)
    )["id"]
    assessed = CommitmentAssessed(
        plan_id=UUID(pid),
        commitment_id=UUID(cid),
        member_id=UUID(mid),
        product=ReviewKind.ACTION_PLAN_REVIEW,
        scale_version="irm-2021",
        verifiable=True,
        potential_for_results="substantial",
        promising=True,
        assessed_at=datetime.now(UTC),
    )
    await produce(env.kafka.bootstrap, env.topic(topics.IRM), [as_record(assessed, service="irm")])

    async def block() -> dict[str, Any]:
        return dict((await api.get(f"/v1/commitments/{cid}")).json()["irm"])

    irm = await eventually(block)
    assert irm["action_plan_review"]["potential_for_results"] == "substantial"
    assert irm["action_plan_review"]["scale_version"] == "irm-2021"


async def _is(get: Any, expected: str) -> bool:
    return bool(await get() == expected)

"""The worlds the authorization matrix and the fuzzer work in: per service, real resources of one
member (created through the service's API or, for what another service owns, through its events on
Kafka) and a token per role, so that "a government acting for its own member" and "for another
member", or the assigned and an unassigned IRM researcher, are really different callers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx

from services.consultation.settings import ConsultationSettings
from services.irm.settings import IrmSettings
from services.notifications.settings import NotificationsSettings
from services.plans.settings import PlansSettings
from shared.auth import person_id
from shared.events import topics
from shared.events.plans import CommitmentAdded, PlanCreated, PlanSubmitted
from shared.runtime import Runtime
from shared.settings import ServiceSettings
from tests.conftest import Env, token
from tests.helpers import as_record, eventually, produce

ROLES = (
    "none",
    "participant",
    "government_own",
    "government_other",
    "irm",
    "researcher_own",
    "researcher_other",
    "moderator",
    "service",
    "staff",
)
PARTICIPANT_SUB = "matrix-participant"


@dataclass
class World:
    """The member the government_own token acts for, another member, and real resource ids."""

    own_member: str
    other_member: str = field(default_factory=lambda: str(uuid4()))
    ids: dict[str, str] = field(default_factory=dict)

    def tokens(self) -> dict[str, dict[str, str]]:
        return {
            "none": {},
            "participant": token("participant", sub=PARTICIPANT_SUB),
            "government_own": token("government", sub="matrix-gov-own", member_ids=[self.own_member]),
            "government_other": token("government", sub="matrix-gov-other", member_ids=[self.other_member]),
            "irm": token("irm", sub="matrix-irm"),
            "researcher_own": token("researcher", sub="matrix-res-own"),
            "researcher_other": token("researcher", sub="matrix-res-other"),
            "moderator": token("moderator", sub="matrix-moderator"),
            "service": token("service", sub="matrix-service"),
            "staff": token("staff", sub="matrix-staff"),
        }


STAFF = token("staff", sub="matrix-staff")
IRM = token("irm", sub="matrix-irm")


async def ok(r: httpx.Response, status: int = 201) -> dict[str, Any]:
    assert r.status_code == status, (
        f"set-up {r.request.method} {r.request.url.path}: {r.status_code} {r.text}"
    )
    body: dict[str, Any] = r.json()
    return body


# --- the world of each service ------------------------------------------------------------------


async def plans_world(_env: Env, _rt: Runtime, api: httpx.AsyncClient) -> World:
    async def member(name: str) -> str:
        body = {"name": name, "kind": "national", "country_code": "JO"}
        return str((await ok(await api.post("/v1/members", json=body, headers=STAFF)))["id"])

    world = World(await member("Ownland"), await member("Otherland"))
    contact = {"name": "Lina Haddad", "email": "lina@example.org", "language": "ar"}
    plan = {"member_id": world.own_member, "title": "Own plan", "start_date": "2025-01-01",
            "end_date": "2027-01-01", "point_of_contact": contact}  # fmt: skip
    pid = (await ok(await api.post("/v1/plans", json=plan, headers=STAFF)))["id"]
    cid = (await ok(await api.post(f"/v1/plans/{pid}/commitments", json={"title": "C1"}, headers=STAFF)))[
        "id"
    ]
    mid = (
        await ok(await api.post(f"/v1/commitments/{cid}/milestones", json={"title": "M1"}, headers=STAFF))
    )["id"]
    world.ids.update(
        member_id=world.own_member, plan_id=pid, commitment_id=cid, milestone_id=mid, year="2025"
    )
    return world


async def consultation_world(env: Env, rt: Runtime, api: httpx.AsyncClient) -> World:
    """The member's plan as the plans service announces it, two open rounds (one to cancel), an
    input by the participant, the member's forum with one seat."""
    world = World(str(uuid4()))
    plan_id, now = uuid4(), datetime.now(UTC)
    created = PlanCreated(plan_id=plan_id, member_id=world.own_member, title="Own plan", start_date=now.date(),
                          end_date=(now + timedelta(days=730)).date(), point_of_contact_id=uuid4(), created_at=now)  # fmt: skip
    added = CommitmentAdded(plan_id=plan_id, commitment_id=uuid4(), member_id=world.own_member, number=1,
                            title="C1", added_at=now)  # fmt: skip
    await produce(env.kafka.bootstrap, env.topic(topics.PLANS), [as_record(created), as_record(added)])

    async def space() -> bool:
        return bool(
            await rt.pool.fetchval("SELECT count(*) FROM commitment_spaces WHERE plan_id = $1", plan_id)
        )

    await eventually(space)
    window = {
        "opens_at": (now - timedelta(seconds=1)).isoformat(),
        "closes_at": (now + timedelta(days=7)).isoformat(),
    }
    rounds = [
        (
            await ok(
                await api.post(
                    f"/v1/plans/{plan_id}/rounds",
                    json={"kind": kind, "title": "Ideas", **window},
                    headers=STAFF,
                )
            )
        )["id"]  # fmt: skip
        for kind in ("ideas", "draft_plan")
    ]

    async def opened() -> bool:
        states = [(await ok(await api.get(f"/v1/rounds/{r}"), 200))["state"] for r in rounds]
        return states == ["open", "open"]

    await eventually(opened)
    participant = token("participant", sub=PARTICIPANT_SUB)
    submitted = await api.post(
        f"/v1/rounds/{rounds[0]}/submissions", json={"body": "First idea"}, headers=participant
    )
    forum = {"member_id": world.own_member, "name": "Own forum", "rules_url": "https://ogp.example.org/rules",
             "established_on": "2025-01-01"}  # fmt: skip
    forum_id = (await ok(await api.post("/v1/forums", json=forum, headers=STAFF)))["id"]
    seat = {"organisation": "Watchdog", "sector": "civil_society", "joined_on": "2025-01-02"}
    seat_id = (await ok(await api.post(f"/v1/forums/{forum_id}/members", json=seat, headers=STAFF)))["id"]
    world.ids.update(
        plan_id=str(plan_id), round_id=rounds[0], spare_round_id=rounds[1], input_id=(await ok(submitted))["id"],
        forum_id=forum_id, seat_id=seat_id, opens_at=window["opens_at"], closes_at=window["closes_at"],
        own_member=world.own_member,
    )  # fmt: skip
    return world


async def irm_world(env: Env, _rt: Runtime, api: httpx.AsyncClient) -> World:
    """The member's Action Plan Review (from the plans event), assigned to researcher_own, in
    pre-publication, with one comment of the member's government."""
    world = World(str(uuid4()))
    plan_id = uuid4()
    submitted = PlanSubmitted(
        plan_id=plan_id, member_id=world.own_member, title="Own plan", start_date=date(2025, 1, 1),
        end_date=date(2027, 1, 1), commitment_count=3, point_of_contact_id=uuid4(),
        submitted_at=datetime(2025, 1, 10, 9, tzinfo=UTC),
    )  # fmt: skip
    await produce(env.kafka.bootstrap, env.topic(topics.PLANS), [as_record(submitted)])

    async def review() -> str | None:
        rows = await ok(await api.get("/v1/reviews", params={"plan_id": str(plan_id)}), 200)
        return next((str(x["id"]) for x in rows if x["kind"] == "action_plan_review"), None)  # type: ignore[attr-defined]

    rid = await eventually(review)
    for sub in ("matrix-res-own", "matrix-res-other"):
        researcher = await ok(
            await api.post("/v1/researchers", json={"subject": sub, "name": sub}, headers=IRM)
        )
        if sub == "matrix-res-own":
            await ok(await api.post(f"/v1/reviews/{rid}/assignment", json={"researcher_id": researcher["id"]},
                                    headers=IRM), 200)  # fmt: skip
    await ok(await api.post(f"/v1/reviews/{rid}/draft", json={"draft_url": "https://irm.example.org/d.pdf"},
                            headers=IRM), 200)  # fmt: skip
    await ok(await api.post(f"/v1/reviews/{rid}/steps", json={"to": "pre_publication"}, headers=IRM), 200)
    gov = world.tokens()["government_own"]
    comment = await ok(await api.post(f"/v1/reviews/{rid}/comments", json={"text": "On track"}, headers=gov))
    world.ids.update(review_id=rid, comment_id=comment["id"], commitment_id=str(uuid4()))
    return world


async def notifications_world(_env: Env, _rt: Runtime, api: httpx.AsyncClient) -> World:
    """The participant as a recipient with a profile and one subscription."""
    world = World(str(uuid4()))
    me = token("participant", sub=PARTICIPANT_SUB)
    rid = str(person_id(PARTICIPANT_SUB))
    profile = {"name": "Matrix Person", "email": "matrix@example.org"}
    await ok(await api.put(f"/v1/recipients/{rid}/preferences", json=profile, headers=me), 200)
    follow = {"scope_type": "member", "scope_id": world.own_member}
    sub = await api.post(f"/v1/recipients/{rid}/subscriptions", json=follow, headers=me)
    assert sub.status_code in (200, 201), sub.text
    world.ids.update(recipient_id=rid, subscription_id=sub.json()["id"], own_member=world.own_member)
    return world


#: service → (its settings in a test environment, the builder of its world).
SERVICES: dict[
    str,
    tuple[Callable[[Env], ServiceSettings], Callable[[Env, Runtime, httpx.AsyncClient], Awaitable[World]]],
] = {
    "plans": (lambda env: env.settings(PlansSettings, "plans"), plans_world),
    "consultation": (
        lambda env: env.settings(
            ConsultationSettings, "consultation", timers_interval_s=0.5, timers_lock_retry_s=0.2
        ),
        consultation_world,
    ),
    "irm": (lambda env: env.settings(IrmSettings, "irm", timers_today=date(2025, 2, 1)), irm_world),
    "notifications": (lambda env: env.settings(NotificationsSettings, "notifications"), notifications_world),
}

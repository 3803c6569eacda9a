"""Every service fuzzed from its own OpenAPI document, against the real Kafka and Postgres.

Schemathesis generates requests from the document (valid ones and, for operations that take
input, invalid ones); each is sent without a token and with a staff token (and, where the
service has data of a member, with that member's government token), straight to the ASGI app of
a service running in this process. Every answer must be: not 5xx, a documented status code, a
documented content type, and a body that matches the documented schema.

Bounded and deterministic: a fixed number of examples per operation, derandomized generation, no
shrinking (each failure is reported as found, with its request). Besides random ids, the
operations are also called with the ids of real resources created first, so the fuzzer reaches
the code behind the 404.

The figures (requests, 5xx, non-conformances) are printed in the terminal summary.
"""

from __future__ import annotations

import contextlib
import importlib
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.consultation.settings import ConsultationSettings
from services.irm.settings import IrmSettings
from services.notifications.settings import NotificationsSettings
from services.plans.settings import PlansSettings
from shared.auth import person_id
from shared.events import topics
from shared.events.plans import CommitmentAdded, PlanCreated
from shared.runtime import Runtime
from shared.settings import ServiceSettings
from tests.conftest import Env, client, running, token
from tests.fuzz.conftest import TALLY
from tests.helpers import as_record, eventually, produce

#: Examples per operation: valid inputs, invalid inputs, valid inputs on real resources. Sized so
#: the four services take about three minutes together on two cores.
POSITIVE = 10
NEGATIVE = 5
SEEDED = 10
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SETTINGS: dict[str, type[ServiceSettings]] = {
    "plans": PlansSettings,
    "consultation": ConsultationSettings,
    "irm": IrmSettings,
    "notifications": NotificationsSettings,
}
MEMBER = uuid4()
STAFF = token("staff", sub="fuzz-staff")
GOVERNMENT = token("government", sub="fuzz-gov", member_ids=[str(MEMBER)])


@dataclass
class Seed:
    """Ids of real resources (by path parameter name) and the tokens to send with them."""

    ids: dict[str, str] = field(default_factory=dict)
    tokens: list[dict[str, str]] = field(default_factory=lambda: [STAFF])


async def _ok(r: httpx.Response, status: int = 201) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    return body


async def seed_plans(_env: Env, _rt: Runtime, api: httpx.AsyncClient) -> Seed:
    member = {"name": "Fuzzland", "kind": "national", "country_code": "JO"}
    mid = (await _ok(await api.post("/v1/members", json=member, headers=STAFF)))["id"]
    gov = token("government", sub="fuzz-gov", member_ids=[mid])
    contact = {"name": "Lina Haddad", "email": "lina@example.org", "language": "ar"}
    plan = {"member_id": mid, "title": "Fuzzed plan", "start_date": "2025-01-01", "end_date": "2027-01-01",
            "point_of_contact": contact}  # fmt: skip
    pid = (await _ok(await api.post("/v1/plans", json=plan, headers=STAFF)))["id"]
    cid = (await _ok(await api.post(f"/v1/plans/{pid}/commitments", json={"title": "C1"}, headers=STAFF)))[
        "id"
    ]
    ms = await _ok(await api.post(f"/v1/commitments/{cid}/milestones", json={"title": "M1"}, headers=STAFF))
    ids = {"member_id": mid, "plan_id": pid, "commitment_id": cid, "milestone_id": ms["id"], "year": "2025"}
    return Seed(ids, [STAFF, gov])


async def seed_consultation(env: Env, rt: Runtime, api: httpx.AsyncClient) -> Seed:
    """A plan as the plans service announces it (through Kafka), then a round on it."""
    plan_id, commitment_id, now = uuid4(), uuid4(), datetime.now(UTC)
    events = [
        PlanCreated(plan_id=plan_id, member_id=MEMBER, title="Fuzzed plan", start_date=now.date(),
                    end_date=(now + timedelta(days=730)).date(), point_of_contact_id=uuid4(), created_at=now),
        CommitmentAdded(plan_id=plan_id, commitment_id=commitment_id, member_id=MEMBER, number=1,
                        title="C1", added_at=now),
    ]  # fmt: skip
    await produce(env.kafka.bootstrap, env.topic(topics.PLANS), [as_record(e) for e in events])

    async def space() -> bool:
        n = await rt.pool.fetchval("SELECT count(*) FROM commitment_spaces WHERE plan_id = $1", plan_id)
        return bool(n == 1)

    await eventually(space)
    window = {
        "opens_at": (now - timedelta(seconds=1)).isoformat(),
        "closes_at": (now + timedelta(days=7)).isoformat(),
    }
    body = {"kind": "ideas", "title": "Ideas", **window}
    rnd = await _ok(await api.post(f"/v1/plans/{plan_id}/rounds", json=body, headers=STAFF))
    ids = {"plan_id": str(plan_id), "member_id": str(MEMBER), "round_id": rnd["id"]}
    return Seed(ids, [STAFF, GOVERNMENT])


async def seed_notifications(_env: Env, _rt: Runtime, _api: httpx.AsyncClient) -> Seed:
    return Seed({"recipient_id": str(person_id("fuzz-staff")), "provider": "webhook"}, [STAFF])


async def seed_nothing(_env: Env, _rt: Runtime, _api: httpx.AsyncClient) -> Seed:
    return Seed({}, [STAFF])


SEEDS: dict[str, Callable[[Env, Runtime, httpx.AsyncClient], Awaitable[Seed]]] = {
    "plans": seed_plans,
    "consultation": seed_consultation,
    "irm": seed_nothing,
    "notifications": seed_notifications,
}


def generate(operation: Any, mode: GenerationMode, examples: int, **fixed: Any) -> list[Any]:
    """``examples`` cases of ``operation``, the same ones on every run (derandomized)."""
    cases: list[Any] = []

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(operation.as_strategy(generation_mode=mode, **fixed))
    def collect(case: Any) -> None:
        cases.append(case)

    # Nothing can be invalid in an operation without input (e.g. GET /healthz).
    with contextlib.suppress(Unsatisfiable):
        collect()
    return cases


def request_of(case: Any, auth: dict[str, str] | None) -> dict[str, Any]:
    """The case as ``httpx`` arguments, with ``auth`` as its only Authorization header."""
    kw = case.as_transport_kwargs(base_url="http://test")
    headers = {
        k: v for k, v in (kw.get("headers") or {}).items() if k.lower() not in ("authorization", "connection")
    }
    headers.update(auth or {})
    out: dict[str, Any] = {
        "method": kw["method"],
        "url": kw["url"],
        "headers": headers,
        "params": kw.get("params"),
    }
    if "json" in kw:
        out["json"] = kw["json"]
    elif isinstance(kw.get("data"), bytes | str):
        out["content"] = kw["data"]
    elif "data" in kw:
        out["data"] = kw["data"]
    if "files" in kw:
        out["files"] = kw["files"]
    return out


@pytest.mark.parametrize("service", list(SETTINGS))
async def test_every_answer_is_documented_and_none_is_5xx(env: Env, service: str) -> None:
    spec = importlib.import_module(f"services.{service}.service").SPEC
    started = time.monotonic()
    counts: Counter[str] = Counter()
    failures: dict[tuple[str, str, str], str] = {}
    async with running(spec, env.settings(SETTINGS[service], service)) as rt, client(rt) as api:
        seed = await SEEDS[service](env, rt, api)
        schema = schemathesis.openapi.from_dict(rt.app.openapi())
        operations = [result.ok() for result in schema.get_all_operations()]
        counts["operations"] = len(operations)
        for op in operations:
            batches: list[tuple[list[Any], list[dict[str, str] | None]]] = [
                (generate(op, GenerationMode.POSITIVE, POSITIVE), [None, STAFF]),
                (generate(op, GenerationMode.NEGATIVE, NEGATIVE), [None, STAFF]),
            ]
            path_names = {p.name for p in op.path_parameters}
            if path_names and path_names <= seed.ids.keys():
                fixed = {name: seed.ids[name] for name in path_names}
                batches.append(
                    (generate(op, GenerationMode.POSITIVE, SEEDED, path_parameters=fixed), [*seed.tokens])
                )
            for cases, auths in batches:
                for case in cases:
                    for auth in auths:
                        try:
                            response = await api.request(**request_of(case, auth))
                        except (httpx.InvalidURL, UnicodeEncodeError, ValueError):
                            counts["unsendable"] += 1  # a header or URL no HTTP client would send
                            continue
                        counts["requests"] += 1
                        if response.status_code >= 500:
                            counts["5xx"] += 1
                        try:
                            case.validate_response(response, checks=CHECKS)
                        except (AssertionError, BaseExceptionGroup) as exc:
                            for failure in getattr(exc, "exceptions", [exc]):
                                title = str(getattr(failure, "title", type(failure).__name__))
                                key = (f"{op.method.upper()} {op.path}", title, str(response.status_code))
                                if key not in failures:
                                    counts["failures"] += 1
                                    body = response.text[:300]
                                    sent = request_of(case, None)
                                    failures[key] = (
                                        f"{sent.get('params')} {sent.get('json', sent.get('content'))!r:.300} -> {body}"
                                    )
    TALLY[service] = counts
    took = time.monotonic() - started
    report = "\n".join(
        f"{op} [{title}] {status}: {detail}" for (op, title, status), detail in failures.items()
    )
    assert counts["requests"] > 0
    assert not failures, (
        f"{service}: {len(failures)} non-conformances in {counts['requests']} requests ({took:.0f}s):\n{report}"
    )

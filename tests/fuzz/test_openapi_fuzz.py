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
from typing import Any

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

from tests.conftest import Env, client, running
from tests.fuzz.conftest import TALLY
from tests.security.worlds import SERVICES

#: Examples per operation: valid inputs, invalid inputs, valid inputs on real resources. Sized so
#: the four services take about three minutes together on two cores.
POSITIVE = 12
NEGATIVE = 6
SEEDED = 15
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
#: The roles whose tokens go with the requests on real resources (in turn, one per request).
SEEDED_ROLES: dict[str, tuple[str, ...]] = {
    "plans": ("staff", "government_own"),
    "consultation": ("staff", "government_own", "participant", "moderator"),
    "irm": ("irm", "researcher_own", "government_own"),
    "notifications": ("participant", "staff"),
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


@pytest.mark.parametrize("service", list(SERVICES))
async def test_every_answer_is_documented_and_none_is_5xx(env: Env, service: str) -> None:
    spec = importlib.import_module(f"services.{service}.service").SPEC
    started = time.monotonic()
    counts: Counter[str] = Counter()
    failures: dict[tuple[str, str, str], str] = {}
    make_settings, make_world = SERVICES[service]
    async with running(spec, make_settings(env)) as rt, client(rt) as api:
        world = await make_world(env, rt, api)
        tokens = world.tokens()
        seeded_auths = [tokens[role] for role in SEEDED_ROLES[service]]
        schema = schemathesis.openapi.from_dict(rt.app.openapi())
        operations = [result.ok() for result in schema.get_all_operations()]
        counts["operations"] = len(operations)
        for op in operations:
            # Random ids and inputs, each sent without a token and with a staff token; then, on
            # real resources, valid inputs with the service's main roles in turn.
            sends: list[tuple[Any, dict[str, str] | None]] = [
                (case, auth)
                for mode, examples in (
                    (GenerationMode.POSITIVE, POSITIVE),
                    (GenerationMode.NEGATIVE, NEGATIVE),
                )
                for case in generate(op, mode, examples)
                for auth in (None, tokens["staff"])
            ]
            path_names = {p.name for p in op.path_parameters}
            if path_names and path_names <= world.ids.keys():
                fixed = {name: world.ids[name] for name in path_names}
                seeded = generate(op, GenerationMode.POSITIVE, SEEDED, path_parameters=fixed)
                sends += [(case, seeded_auths[n % len(seeded_auths)]) for n, case in enumerate(seeded)]
            for case, auth in sends:
                try:
                    response = await api.request(**request_of(case, auth))
                except (httpx.InvalidURL, UnicodeEncodeError, ValueError):
                    counts["unsendable"] += 1  # a header or URL no HTTP client would send
                    continue
                counts["requests"] += 1
                counts[f"{response.status_code // 100}xx"] += 1  # "5xx" among them
                if response.is_success and op.method.upper() != "GET":
                    counts["writes accepted"] += 1  # how deep the fuzzer got, not just refusals
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

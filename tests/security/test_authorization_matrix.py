"""Every write route of every service, called by every role, against the table in ``authorization.toml``.

The routes come from the service's own OpenAPI document: a new write route without a row in the
table fails, and so does a row whose route is gone. Each route is called by each role on real
resources of one member (created first, through the service's API or, for what another service
owns, through its events on Kafka), so "a government acting for its own member" and "for
another member" are both really tried, as are the assigned and an unassigned IRM researcher.

"Denied" means 401 without a token and 403 with one; "allowed" means anything else (a 404, 409
or 422 got past authorization). Every mismatch is listed at the end, not just the first.
"""

from __future__ import annotations

import importlib
import re
import time
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from tests.conftest import Env, client, running
from tests.security.conftest import MATRIX
from tests.security.worlds import ROLES, SERVICES

TABLE = Path(__file__).with_name("authorization.toml")
WRITES = ("post", "put", "patch", "delete")


# --- the matrix -----------------------------------------------------------------------------------


def _fill(value: Any, ids: dict[str, str]) -> Any:
    """``"{name}"`` placeholders replaced by the world's ids (in strings, lists and tables)."""
    if isinstance(value, str):
        return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], value)
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def write_routes(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": op
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in WRITES
    }


def request_for(route: str, row: dict[str, Any], op: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    method, path = route.split(" ", 1)
    params = {**ids, **_fill(row.get("path", {}), ids)}
    url = re.sub(r"\{(\w+)\}", lambda m: params.get(m.group(1), str(uuid4())), path)
    out: dict[str, Any] = {"method": method, "url": url}
    if "raw" in row:
        out["content"] = row["raw"].encode()
        out["headers"] = {"content-type": row["content_type"]}
    elif "body" in row or "requestBody" in op:
        out["json"] = _fill(row.get("body", {}), ids)
    return out


def expected(role: str, row: dict[str, Any]) -> int | None:
    """None when ``role`` is allowed, else the status that denies it."""
    allowed = row["allowed"]
    if "*" in allowed or role in allowed:
        return None
    return int(row.get("none_status", 401)) if role == "none" else 403


def test_the_table_names_only_known_roles() -> None:
    table = tomllib.loads(TABLE.read_text())
    unknown = {
        f"{service} {route}: {role}"
        for service, rows in table.items()
        for route, row in rows.items()
        for role in row["allowed"]
        if role != "*" and role not in ROLES
    }
    assert not unknown, unknown


@pytest.mark.parametrize("service", list(SERVICES))
async def test_every_write_route_refuses_every_role_it_should(env: Env, service: str) -> None:
    rows: dict[str, dict[str, Any]] = tomllib.loads(TABLE.read_text()).get(service, {})
    make_settings, make_world = SERVICES[service]
    spec = importlib.import_module(f"services.{service}.service").SPEC
    started = time.monotonic()
    async with running(spec, make_settings(env)) as rt, client(rt) as api:
        routes = write_routes(rt.app.openapi())
        missing = sorted(set(routes) - set(rows))
        stale = sorted(set(rows) - set(routes))
        assert not missing, f"write routes of {service} without a row in {TABLE.name}: {missing}"
        assert not stale, f"rows of {TABLE.name} for routes {service} no longer has: {stale}"
        world = await make_world(env, rt, api)
        tokens = world.tokens()
        mismatches: list[str] = []
        counts: Counter[str] = Counter()
        for route, row in rows.items():  # the table's order: later rows may rely on earlier writes
            order = sorted(ROLES, key=lambda role: expected(role, row) is None)  # denied first
            for role in order:
                request = request_for(
                    route, row, routes[route], {"own_member": world.own_member, **world.ids}
                )
                request["headers"] = {**request.get("headers", {}), **tokens[role]}
                r = await api.request(**request)
                counts["cells"] += 1
                counts["allowed 2xx"] += r.is_success  # allowed and really done, not a 404/409/422
                want = expected(role, row)
                if want is None and r.status_code in (401, 403):
                    mismatches.append(
                        f"{route} as {role}: expected allowed, got {r.status_code} {r.text[:200]}"
                    )
                elif want is not None and r.status_code != want:
                    mismatches.append(
                        f"{route} as {role}: expected {want}, got {r.status_code} {r.text[:200]}"
                    )
                if r.status_code >= 500:
                    mismatches.append(f"{route} as {role}: {r.status_code} {r.text[:200]}")
        counts["routes"] = len(rows)
        counts["roles"] = len(ROLES)
        counts["denied"] = sum(
            1 for row in rows.values() for role in ROLES if expected(role, row) is not None
        )
    MATRIX[service] = counts
    took = time.monotonic() - started
    assert not mismatches, (
        f"{service} ({took:.0f}s): {len(mismatches)} of {counts['cells']} cells differ:\n"
        + "\n".join(mismatches)
    )

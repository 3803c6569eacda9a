"""The OpenAPI document of a service says what the service really answers.

FastAPI's own document describes the happy path and its own defaults, not what our middleware and
handlers send: 422s are documented in FastAPI's ``HTTPValidationError`` shape while
:mod:`shared.http` sends RFC 9457 ``application/problem+json`` with ``errors: [{field, message}]``;
the 401/403 of the bearer-token dependencies, the 413 of the body limit, the 400 of an unreadable
body, the 404 of a path id that names nothing, the 409 of a domain rule and the 503 of a contended
write are missing; there is no security scheme. And a route answering with its own ``Response``
class (e.g. JSON built by Postgres) gets ``{"type": "string", "$ref": ...}``: FastAPI writes
``type: string`` for any non-JSONResponse class and then merges the documented model's ``$ref``
beside it, a schema no JSON object matches.

:func:`install` post-processes the generated document once per change of the routes; every
service gets it through :func:`shared.http.create_app`. What is added is derived from each route's
dependencies (an authenticated principal → bearer security, 401, 403; a role requirement → 403
naming the roles; an optional principal → optional security), its body (400, 413), its path
parameters (404) and its method (writes: 409, 503).

``python -m shared.openapi export`` writes ``docs/openapi/<service>.json``;
``python -m shared.openapi check`` fails when they differ from the code, so a change of an API is
reviewed as a change of its committed document (like the event schemas).
"""

from __future__ import annotations

import argparse
import copy
import importlib
import inspect
import json
import sys
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, routing

REPO = Path(__file__).resolve().parents[1]
DOC_DIR = REPO / "docs" / "openapi"
SERVICES = ("plans", "consultation", "irm", "notifications")
PROBLEM_JSON = "application/problem+json"
BEARER = "bearer"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

#: Routes whose use case counts a person's writes and answers 429 with ``Retry-After`` past the
#: limit (consultation inputs and flags: ``check_rate``). Not visible in their dependencies.
RATE_LIMITED = frozenset(
    {
        ("POST", "/v1/rounds/{round_id}/submissions"),
        ("POST", "/v1/rounds/{round_id}/comments"),
        ("POST", "/v1/inputs/{input_id}/flags"),
    }
)

PROBLEM_SCHEMAS: dict[str, Any] = {
    "Problem": {
        "title": "Problem",
        "type": "object",
        "description": "RFC 9457 problem details, as every error answer carries them.",
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "request_id": {"type": ["string", "null"], "description": "quote it when reporting"},
            "errors": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/ProblemField"},
                "description": "for invalid input: each field at fault",
            },
            "rule": {"type": "string", "description": "the domain rule that refused the request"},
        },
        "required": ["type", "title", "status"],
    },
    "ProblemField": {
        "title": "ProblemField",
        "type": "object",
        "properties": {
            "field": {"type": "string", "description": "dotted path of the field, e.g. title.en"},
            "message": {"type": "string"},
        },
        "required": ["field", "message"],
    },
}
SECURITY_SCHEMES: dict[str, Any] = {
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An OIDC access token (RS256/ES256; locally HS256 from `make token`) with "
        "`sub`, `roles` and, for a government point of contact, `member_ids`.",
    }
}
_AUTHENTICATE = {"WWW-Authenticate": {"schema": {"type": "string"}}}
_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}


@dataclass(frozen=True, slots=True)
class RouteFacts:
    """What a route's declaration tells about the answers it can give."""

    auth: str | None  # "required", "optional" or None
    roles: tuple[str, ...] | None  # the roles a role dependency lets through
    has_body: bool
    has_path_params: bool


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` (and ``/openapi.json``) return the described document."""
    generate = app.openapi
    cache: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        raw = generate()  # FastAPI caches it until the routes change
        if cache.get("raw") is not raw:
            cache["doc"] = describe(copy.deepcopy(raw), route_facts(app))
            cache["raw"] = raw
        doc: dict[str, Any] = cache["doc"]
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


def _dependencies(dependant: Any) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)


def _optional_principal(call: Callable[..., Any]) -> bool:
    """A dependency that returns ``Principal | None``: reads public, a token sees more."""
    from shared.auth import Principal

    try:
        returned = typing.get_type_hints(call).get("return")
    except Exception:
        return False
    args = typing.get_args(returned)
    is_union = typing.get_origin(returned) in (typing.Union, types.UnionType)
    return is_union and Principal in args and type(None) in args


def route_facts(app: FastAPI) -> dict[tuple[str, str], RouteFacts]:
    """``(METHOD, path)`` → facts, from each route's dependency tree."""
    from shared.auth import Authenticated

    principal = typing.get_args(Authenticated)[1].dependency
    facts: dict[tuple[str, str], RouteFacts] = {}
    for route in routing.iter_route_contexts(app.routes):
        if not isinstance(route.original_route, routing.APIRoute):
            continue
        auth: str | None = None
        roles: tuple[str, ...] | None = None
        for dep in _dependencies(route.dependant):
            call = dep.call
            if call is principal:
                auth = "required"
            elif call is not None and getattr(call, "__qualname__", "") == "require.<locals>.dependency":
                named = inspect.getclosurevars(call).nonlocals.get("roles", ())
                roles = tuple(str(r) for r in named)
            elif call is not None and auth is None and _optional_principal(call):
                auth = "optional"
        for method in route.methods or ():
            facts[(method, str(route.path_format))] = RouteFacts(
                auth=auth,
                roles=roles,
                has_body=route.body_field is not None,
                has_path_params=bool(route.dependant.path_params),
            )
    return facts


def _problem(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if headers:
        out["headers"] = headers
    return out


def _drop_type_beside_ref(node: Any) -> None:
    """``{"type": "string", "$ref": ...}`` → ``{"$ref": ...}`` (see the module docstring)."""
    if isinstance(node, dict):
        if "$ref" in node:
            node.pop("type", None)
        for value in node.values():
            _drop_type_beside_ref(value)
    elif isinstance(node, list):
        for value in node:
            _drop_type_beside_ref(value)


def _add(responses: dict[str, Any], status: int, description: str, **kw: Any) -> None:
    """Document ``status`` unless the route did; a route's own words win, our schema fills in."""
    declared = responses.get(str(status))
    if declared is None:
        responses[str(status)] = _problem(description, **kw)
        return
    content = declared.setdefault("content", {})
    if PROBLEM_JSON not in content or not content[PROBLEM_JSON].get("schema"):
        content.pop("application/json", None)
        content[PROBLEM_JSON] = {"schema": {"$ref": "#/components/schemas/Problem"}}
    if kw.get("headers"):
        declared.setdefault("headers", kw["headers"])


def describe_operation(method: str, path: str, op: dict[str, Any], facts: RouteFacts | None) -> None:
    responses: dict[str, Any] = op.setdefault("responses", {})
    if "422" in responses:
        responses["422"] = _problem("Invalid input: `errors` names each field at fault")
    for status, answer in responses.items():
        # Every error answer is a problem (shared.http): a route that names the status without a
        # content, or with ours but no schema, gets the schema.
        content = answer.get("content") or {}
        if status.startswith(("4", "5")) and (not content or PROBLEM_JSON in content):
            _add(responses, int(status), answer.get("description", ""))
    if facts is None:
        return
    if facts.auth == "required":
        op["security"] = [{BEARER: []}]
        _add(
            responses,
            401,
            "No valid bearer token",
            headers={"WWW-Authenticate": {"schema": {"type": "string"}}},
        )
        roles = f"it has none of the roles {', '.join(facts.roles)} or " if facts.roles else ""
        _add(responses, 403, f"The token is valid but {roles}it may not act on this resource")
    elif facts.auth == "optional":
        op["security"] = [{}, {BEARER: []}]
    if facts.has_body:
        _add(responses, 400, "The body cannot be read (e.g. not UTF-8)")
        _add(responses, 413, "The request body is larger than the service accepts")
        if "422" not in responses:
            _add(responses, 422, "Invalid input: `errors` names each field at fault")
    if facts.has_path_params:
        _add(responses, 404, "Nothing is known by this id")
    if method in WRITE_METHODS:
        _add(responses, 409, "A rule of the domain forbids this now (`rule` names it)")
        _add(responses, 503, "A concurrent change got in the way; retry", headers=_RETRY_AFTER)
    if (method, path) in RATE_LIMITED:
        _add(responses, 429, "Too many writes from this person; retry later", headers=_RETRY_AFTER)


#: What shared.http's /readyz answers, ready (200) or not (503).
_READINESS = {
    "type": "object",
    "properties": {
        "status": {"enum": ["ready", "not ready"]},
        "checks": {"type": "object", "additionalProperties": {"type": "boolean"}},
        "required": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["status", "checks", "required"],
    "additionalProperties": {"enum": ["reachable", "unreachable"]},
}


def _describe_operations_routes(paths: dict[str, Any]) -> None:
    """The answers of shared.http's own routes (/healthz, /readyz, /metrics)."""
    health = paths.get("/healthz", {}).get("get")
    if health is not None:
        schema = {
            "type": "object",
            "properties": {"status": {"const": "ok"}, "service": {"type": "string"}},
            "required": ["status", "service"],
        }
        health["responses"]["200"]["content"] = {"application/json": {"schema": schema}}
    ready = paths.get("/readyz", {}).get("get")
    if ready is not None:
        ready["responses"]["200"]["content"] = {"application/json": {"schema": _READINESS}}
        ready["responses"]["503"] = {
            "description": "Not ready: a required check fails",
            "content": {"application/json": {"schema": _READINESS}},
        }
    scrape = paths.get("/metrics", {}).get("get")
    if scrape is not None:  # Prometheus' text exposition format, not JSON
        scrape["responses"]["200"]["content"] = {"text/plain": {"schema": {"type": "string"}}}


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref.rsplit("/", 1)[-1]
        for value in node.values():
            yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)


def describe(doc: dict[str, Any], facts: dict[tuple[str, str], RouteFacts]) -> dict[str, Any]:
    """``doc`` (FastAPI's document, changed in place) as the services really answer."""
    _drop_type_beside_ref(doc)
    components = doc.setdefault("components", {})
    schemas: dict[str, Any] = components.setdefault("schemas", {})
    schemas.update(copy.deepcopy(PROBLEM_SCHEMAS))
    components["securitySchemes"] = copy.deepcopy(SECURITY_SCHEMES)
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            describe_operation(method.upper(), path, op, facts.get((method.upper(), path)))
    _describe_operations_routes(doc.get("paths", {}))
    # FastAPI's validation-error shapes are never sent: drop them once nothing refers to them.
    used = set(_references({k: v for k, v in doc.items() if k != "components"}))
    used |= set(_references(PROBLEM_SCHEMAS))
    for name in ("HTTPValidationError", "ValidationError"):
        if name not in used:
            schemas.pop(name, None)
    components["schemas"] = dict(sorted(schemas.items()))
    return doc


# --- committed documents ---------------------------------------------------------------------------


def service_document(service: str) -> dict[str, Any]:
    """The service's document, from its app built without starting anything (no Kafka, no
    Postgres: the routes and their dependencies are all it takes)."""
    from shared.runtime import Runtime
    from shared.settings import ServiceSettings

    spec = importlib.import_module(f"services.{service}.service").SPEC
    doc: dict[str, Any] = Runtime(spec, ServiceSettings()).build_app().openapi()
    return doc


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def export(folder: Path = DOC_DIR) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for service in SERVICES:
        path = folder / f"{service}.json"
        path.write_text(render(service_document(service)))
        written.append(path)
    return written


def check(folder: Path = DOC_DIR) -> list[str]:
    """Each committed document that differs from what the code describes; empty when none."""
    problems = []
    for service in SERVICES:
        path = folder / f"{service}.json"
        if not path.exists():
            problems.append(f"{path.relative_to(REPO)} is missing; run `make openapi`")
        elif path.read_text() != render(service_document(service)):
            problems.append(f"{path.relative_to(REPO)} differs from the code; review and run `make openapi`")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.openapi")
    parser.add_argument("command", choices=["export", "check"])
    args = parser.parse_args(argv)
    if args.command == "export":
        for path in export():
            print(path.relative_to(REPO))
        return 0
    problems = check()
    print("\n".join(problems) or "OpenAPI documents up to date")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

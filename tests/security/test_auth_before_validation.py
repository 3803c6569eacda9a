"""Authorization comes before validation on every write route, so a caller without the right
token learns nothing from the answer about what a valid body would be.

FastAPI resolves the token and role dependencies before it reports invalid fields or path
parameters; the one exception, stated in ``authorization.toml``, is a body that is not JSON at
all (422 before any dependency). Shown here for every write route of the four services, on the
apps alone: a refused caller never reaches the database, so nothing else needs to run.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI

from shared import openapi
from shared.runtime import Runtime
from shared.settings import ServiceSettings
from tests.conftest import DEV_SECRET, token

WRITES = ("POST", "PUT", "PATCH", "DELETE")
#: Write routes behind a token, per service (the others are public or signed by the SMS gateway).
GUARDED = {"plans": 14, "consultation": 15, "irm": 12, "notifications": 5}


def app_of(service: str) -> FastAPI:
    spec = importlib.import_module(f"services.{service}.service").SPEC
    return Runtime(spec, ServiceSettings(auth_dev_secret=DEV_SECRET)).build_app()


def guarded_writes(app: FastAPI) -> Iterator[tuple[str, str, openapi.RouteFacts]]:
    for (method, path), facts in sorted(openapi.route_facts(app).items()):
        if method in WRITES and facts.auth == "required":
            yield method, re.sub(r"\{\w+\}", lambda _: str(uuid4()), path), facts


def outsider(facts: openapi.RouteFacts) -> dict[str, str] | None:
    """A valid token with none of the roles the route's dependency asks for (None: no such role)."""
    if facts.roles is None:
        return None
    spare = [r for r in ("participant", "moderator", "service", "researcher", "irm") if r not in facts.roles]
    return token(spare[0], sub="outsider") if spare else None


@pytest.mark.parametrize("service", openapi.SERVICES)
async def test_no_token_or_wrong_role_is_refused_whatever_the_body(service: str) -> None:
    app = app_of(service)
    checked = 0
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as api:
        for method, url, facts in guarded_writes(app):
            invalid: dict[str, Any] = {"surprise": [None, {"deep": 10**30}], "title": {}}
            r = await api.request(method, url, json=invalid)
            assert r.status_code == 401, (method, url, r.status_code, r.text)
            wrong = outsider(facts)
            if wrong is not None:
                r = await api.request(method, url, json=invalid, headers=wrong)
                assert r.status_code == 403, (method, url, r.status_code, r.text)
            checked += 1
            # The stated exception: bytes that are not JSON are refused before the token is read.
            r = await api.request(
                method, url, content=b"{not json", headers={"content-type": "application/json"}
            )
            assert r.status_code in (401, 422), (method, url, r.status_code)
    assert checked == GUARDED[service]

"""Production authentication: RS256 tokens verified against a JWKS served over real HTTP, and the
token's age checked (``iat`` required and not in the future, ``nbf`` honoured, ``exp - iat``
bounded by ``auth_max_token_lifetime_s``), each refusal a 401 problem+json saying why."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from shared.auth import Authenticated, Authenticator
from shared.http import Problem, create_app
from shared.settings import ServiceSettings

ISSUER = "https://id.example.org/realms/ogp"


@pytest.fixture(scope="module")
def keys() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url(keys: Any) -> Iterator[str]:
    jwk = json.loads(RSAAlgorithm.to_jwk(keys.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/certs"
    server.shutdown()


def _token(key: Any, *, drop: tuple[str, ...] = (), **over: Any) -> str:
    now = int(time.time())
    claims = {"sub": "irm-researcher", "roles": ["irm"], "aud": "sharaka", "iss": ISSUER,
              "iat": now, "exp": now + 300, **over}  # fmt: skip
    for name in drop:
        claims.pop(name)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


async def test_a_token_from_the_identity_provider_is_accepted(keys: Any, jwks_url: str) -> None:
    auth = Authenticator(ServiceSettings(auth_issuer=ISSUER, auth_jwks_url=jwks_url))
    who = await auth.verify(_token(keys))
    assert who.subject == "irm-researcher"
    assert "irm" in who.roles


@pytest.mark.parametrize("over", [{"iss": "https://elsewhere"}, {"aud": "other"}, {"exp": 1}])
async def test_wrong_issuer_audience_or_expired_is_401(
    keys: Any, jwks_url: str, over: dict[str, Any]
) -> None:
    auth = Authenticator(ServiceSettings(auth_issuer=ISSUER, auth_jwks_url=jwks_url))
    with pytest.raises(Problem) as err:
        await auth.verify(_token(keys, **over))
    assert err.value.status == 401


async def test_a_token_signed_by_another_key_is_401(jwks_url: str) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    auth = Authenticator(ServiceSettings(auth_issuer=ISSUER, auth_jwks_url=jwks_url))
    with pytest.raises(Problem) as err:
        await auth.verify(_token(stranger))
    assert err.value.status == 401


async def test_the_dev_key_is_refused_when_oidc_is_configured(jwks_url: str) -> None:
    from shared.auth import DEV_SECRET, mint_token

    auth = Authenticator(
        ServiceSettings(auth_issuer=ISSUER, auth_jwks_url=jwks_url, auth_dev_secret=DEV_SECRET)
    )
    with pytest.raises(Problem):
        await auth.verify(mint_token(DEV_SECRET, "x", ["staff"]))


def _app(settings: ServiceSettings) -> httpx.AsyncClient:
    """A service's HTTP stack (problem+json handlers, the authenticator) with one route."""

    async def ready() -> dict[str, bool]:
        return {}

    app = create_app(service="test", title="t", description="t", version="1", readiness=ready)
    app.state.authenticator = Authenticator(settings)

    @app.get("/v1/whoami")
    async def whoami(principal: Authenticated) -> dict[str, str]:
        return {"sub": principal.subject}

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def _answer(settings: ServiceSettings, token: str) -> tuple[int, str, dict[str, Any]]:
    async with _app(settings) as api:
        r = await api.get("/v1/whoami", headers={"Authorization": f"Bearer {token}"})
    return r.status_code, r.headers["content-type"], r.json()


HOUR = 3600
CENTURY = 100 * 365 * 24 * HOUR


@pytest.mark.parametrize(
    ("claims", "drop", "detail"),
    [
        # The issue's token: a century to live and no iat.
        (lambda now: {"exp": now + CENTURY}, ("iat",), "invalid token: the 'iat' claim is required"),
        (lambda now: {"iat": now, "exp": now + CENTURY},  (),
         f"token lifetime {CENTURY}s (exp - iat) exceeds the 7200s allowed"),
        (lambda now: {"iat": now - 60, "exp": now + 2 * HOUR}, (),
         f"token lifetime {2 * HOUR + 60}s (exp - iat) exceeds the 7200s allowed"),
        (lambda now: {"iat": now + 600, "exp": now + 900}, (), "token issued in the future (iat is later than now)"),
        (lambda now: {"iat": now, "nbf": now + 600, "exp": now + 900}, (),
         "token not valid yet (nbf is later than now)"),
        (lambda now: {"iat": now - 600, "exp": now - 300}, (), "token expired"),
    ],
    ids=["no-iat-century", "century", "just-over-the-bound", "iat-in-future", "nbf-in-future", "expired"],
)  # fmt: skip
async def test_a_token_of_the_wrong_age_is_401_with_why(
    keys: Any, jwks_url: str, claims: Any, drop: tuple[str, ...], detail: str
) -> None:
    settings = ServiceSettings(auth_issuer=ISSUER, auth_jwks_url=jwks_url)
    status, kind, body = await _answer(settings, _token(keys, drop=drop, **claims(int(time.time()))))
    assert (status, kind) == (401, "application/problem+json"), body
    assert (body["status"], body["title"], body["detail"]) == (401, "Unauthorized", detail)


@pytest.mark.parametrize(
    "claims",
    [
        lambda now: {"iat": now, "exp": now + 2 * HOUR},  # exactly the bound
        lambda now: {"iat": now + 20, "exp": now + HOUR},  # a provider's clock 20 s ahead: leeway
        lambda now: {"iat": now - 10, "nbf": now - 10, "exp": now + 300},
    ],
    ids=["at-the-bound", "iat-within-leeway", "nbf-past"],
)
async def test_a_token_of_the_right_age_is_accepted(keys: Any, jwks_url: str, claims: Any) -> None:
    settings = ServiceSettings(auth_issuer=ISSUER, auth_jwks_url=jwks_url)
    assert await _answer(settings, _token(keys, **claims(int(time.time())))) == (
        200,
        "application/json",
        {"sub": "irm-researcher"},
    )


async def test_the_lifetime_bound_is_a_setting(keys: Any, jwks_url: str) -> None:
    now = int(time.time())
    hour_long = _token(keys, iat=now, exp=now + HOUR)
    strict = ServiceSettings(auth_issuer=ISSUER, auth_jwks_url=jwks_url, auth_max_token_lifetime_s=600)
    status, _, body = await _answer(strict, hour_long)
    assert (status, body["detail"]) == (401, "token lifetime 3600s (exp - iat) exceeds the 600s allowed")
    default = ServiceSettings(auth_issuer=ISSUER, auth_jwks_url=jwks_url)
    assert (await _answer(default, hour_long))[0] == 200

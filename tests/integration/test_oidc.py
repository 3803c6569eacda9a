"""Production authentication: RS256 tokens verified against a JWKS served over real HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from shared.auth import Authenticator
from shared.http import Problem
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


def _token(key: Any, **over: Any) -> str:
    claims = {"sub": "irm-researcher", "roles": ["irm"], "aud": "sharaka", "iss": ISSUER,
              "exp": int(time.time()) + 300, **over}  # fmt: skip
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

import time
from uuid import uuid4

import jwt
import pytest

from shared.auth import DEV_SECRET, Authenticator, Principal, Role, mint_token
from shared.http import Problem
from shared.settings import ServiceSettings


async def test_dev_token_round_trip() -> None:
    member = uuid4()
    auth = Authenticator(ServiceSettings(auth_dev_secret=DEV_SECRET))
    who = await auth.verify(mint_token(DEV_SECRET, "amina", ["government"], member_ids=[str(member)]))
    assert who.subject == "amina"
    assert who.acts_for(member)
    assert not who.acts_for(uuid4())


@pytest.mark.parametrize(
    "token",
    [
        mint_token("another-secret-that-is-long-enough-for-hs256", "x", ["staff"]),
        jwt.encode({"sub": "x", "aud": "sharaka", "exp": int(time.time()) - 10}, DEV_SECRET, "HS256"),
        jwt.encode({"sub": "x", "aud": "elsewhere", "exp": int(time.time()) + 60}, DEV_SECRET, "HS256"),
        "not.a.token",
    ],
)
async def test_bad_tokens_are_401(token: str) -> None:
    auth = Authenticator(ServiceSettings(auth_dev_secret=DEV_SECRET))
    with pytest.raises(Problem) as err:
        await auth.verify(token)
    assert err.value.status == 401


async def test_no_configured_auth_refuses_everything() -> None:
    auth = Authenticator(ServiceSettings(auth_dev_secret=None, auth_jwks_url=None))
    with pytest.raises(Problem) as err:
        await auth.verify(mint_token(DEV_SECRET, "x", ["staff"]))
    assert err.value.status == 401


def test_staff_acts_for_every_member() -> None:
    staff = Principal("s", frozenset({Role.STAFF.value}), frozenset())
    assert staff.acts_for(uuid4())

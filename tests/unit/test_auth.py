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


def _dev(**claims: object) -> str:
    return jwt.encode({"sub": "x", "aud": "sharaka", **claims}, DEV_SECRET, "HS256")


@pytest.mark.parametrize(
    ("token", "detail"),
    [
        (_dev(exp=int(time.time()) + 100 * 365 * 86400), "invalid token: the 'iat' claim is required"),
        (
            _dev(iat=int(time.time()), exp=int(time.time()) + 100 * 365 * 86400),
            "exceeds the 86400s allowed",
        ),
        (_dev(iat=int(time.time()) + 3600, exp=int(time.time()) + 7200), "token issued in the future"),
        (
            _dev(iat=int(time.time()), nbf=int(time.time()) + 3600, exp=int(time.time()) + 7200),
            "not valid yet",
        ),
    ],
    ids=["century-no-iat", "century", "iat-in-future", "nbf-in-future"],
)
async def test_dev_tokens_follow_the_same_age_rules(token: str, detail: str) -> None:
    auth = Authenticator(ServiceSettings(auth_dev_secret=DEV_SECRET))
    with pytest.raises(Problem) as err:
        await auth.verify(token)
    assert err.value.status == 401
    assert detail in (err.value.detail or "")


async def test_make_token_mints_a_bounded_token_with_iat(capsys: pytest.CaptureFixture[str]) -> None:
    from shared.auth import DEV_MAX_LIFETIME_S, main

    assert main(["mint", "--role", "staff"]) == 0
    token = capsys.readouterr().out.strip()
    claims = jwt.decode(token, DEV_SECRET, algorithms=["HS256"], audience="sharaka")
    assert claims["exp"] - claims["iat"] == 8 * 3600
    who = await Authenticator(ServiceSettings(auth_dev_secret=DEV_SECRET)).verify(token)
    assert who.has(Role.STAFF)
    with pytest.raises(SystemExit):
        main(["mint", "--ttl", str(DEV_MAX_LIFETIME_S + 1)])
    with pytest.raises(ValueError, match="ttl_s"):
        mint_token(DEV_SECRET, "x", ["staff"], ttl_s=100 * 365 * 86400)


async def test_a_verified_token_is_not_decoded_again(monkeypatch: pytest.MonkeyPatch) -> None:
    auth = Authenticator(ServiceSettings(auth_dev_secret=DEV_SECRET))
    token = mint_token(DEV_SECRET, "amina", ["participant"])
    first = await auth.verify(token)
    calls: list[str] = []
    real_decode = jwt.decode

    def counting_decode(*args: object, **kwargs: object) -> object:
        calls.append("decode")
        return real_decode(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(jwt, "decode", counting_decode)
    assert await auth.verify(token) == first
    assert calls == []
    # Another string (one character changed in the signature) is verified, and refused.
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with pytest.raises(Problem) as err:
        await auth.verify(tampered)
    assert err.value.status == 401
    assert calls == ["decode"]


async def test_a_cached_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    auth = Authenticator(ServiceSettings(auth_dev_secret=DEV_SECRET, auth_clock_leeway_s=30))
    token = mint_token(DEV_SECRET, "amina", ["participant"], ttl_s=60)
    await auth.verify(token)
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    monkeypatch.setattr("shared.auth.time.time", lambda: exp + 29.5)  # within the leeway
    assert (await auth.verify(token)).subject == "amina"
    monkeypatch.setattr("shared.auth.time.time", lambda: exp + 30)
    with pytest.raises(Problem) as err:
        await auth.verify(token)
    assert (err.value.status, err.value.detail) == (401, "token expired")


async def test_a_cached_token_is_verified_again_after_a_while(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared import auth as module

    authenticator = Authenticator(ServiceSettings(auth_dev_secret=DEV_SECRET))
    token = mint_token(DEV_SECRET, "amina", ["participant"], ttl_s=3600)
    await authenticator.verify(token)
    later = time.time() + module.VERIFIED_TOKENS_MAX_AGE_S + 1
    monkeypatch.setattr("shared.auth.time.time", lambda: later)
    calls: list[str] = []
    real_decode = jwt.decode

    def counting_decode(*args: object, **kwargs: object) -> object:
        calls.append("decode")
        return real_decode(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(jwt, "decode", counting_decode)
    assert (await authenticator.verify(token)).subject == "amina"
    assert calls == ["decode"]


async def test_the_cache_of_verified_tokens_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shared.auth.VERIFIED_TOKENS_MAX", 3)
    auth = Authenticator(ServiceSettings(auth_dev_secret=DEV_SECRET))
    for i in range(5):
        await auth.verify(mint_token(DEV_SECRET, f"p{i}", ["participant"]))
    assert len(auth._verified._entries) == 3

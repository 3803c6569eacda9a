"""Bearer-token authentication with roles.

Production: tokens from the organisation's OIDC provider, verified against its JWKS (RS256/ES256),
with ``iss`` and ``aud`` checked, ``iat`` required and not in the future, ``nbf`` honoured and
the lifetime (``exp - iat``) at most ``auth_max_token_lifetime_s``: a bearer token is good to
whoever holds it until it expires, so one minted for a century is refused, not trusted.
Local use: a documented HS256 dev key and ``python -m shared.auth mint`` to make tokens, under
the same rules (lifetime at most a day). With neither configured, every authenticated call is
refused: there is no "auth off" mode to forget in production.

Claims used: ``sub`` (who), ``roles`` (list of :class:`Role`), ``member_ids`` (the members a
government point of contact acts for).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID, uuid5

import jwt
from fastapi import Depends, Request

from shared.http import Problem
from shared.settings import ServiceSettings

#: Documented in the README; for laptops and tests only. Any deployment sets its own or uses OIDC.
DEV_SECRET = "sharaka-local-development-key-not-for-production"  # noqa: S105
#: Longest lifetime of a token signed with the dev key: a working day and then some (``make
#: token`` mints 8 h). The same rules as production otherwise, so a test's token is refused where
#: a production one would be.
DEV_MAX_LIFETIME_S = 24 * 3600


class Role(StrEnum):
    STAFF = "staff"  # OGP Support Unit: edits everything
    GOVERNMENT = "government"  # a member's point of contact: edits its own member's plans
    IRM = "irm"  # IRM staff: schedule, assign researchers, code and publish any review
    RESEARCHER = "researcher"  # an IRM researcher: codes and drafts the reviews assigned to them
    MODERATOR = "moderator"
    PARTICIPANT = "participant"
    SERVICE = "service"  # another Sharaka service


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    roles: frozenset[str]
    member_ids: frozenset[UUID]

    def has(self, *roles: Role) -> bool:
        return any(r.value in self.roles for r in roles)

    def acts_for(self, member_id: UUID) -> bool:
        return self.has(Role.STAFF) or (self.has(Role.GOVERNMENT) and member_id in self.member_ids)


#: Namespace of :func:`person_id`.
_PEOPLE = UUID("0b7f5e3c-9a4d-4f1e-8c2b-6d5a3e9f1c07")


def person_id(subject: str) -> UUID:
    """The stable, opaque id of the person a token subject names. Services that meet the same
    person (the IRM's researcher, the notifications service's recipient) agree on it without
    sharing the subject itself."""
    return uuid5(_PEOPLE, subject)


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="sharaka"'})


@dataclass(frozen=True, slots=True)
class _Verified:
    """A token whose signature, issuer, audience and lifetime were checked once: what remains to
    check at each use is time (``exp``, ``nbf``, ``iat``), and how long ago the keys were asked."""

    principal: Principal
    exp: int
    nbf: int | None
    iat: int
    cached_at: float


class _VerifiedTokens:
    """The last tokens verified, keyed by the exact token string: a participant posting and
    reading sends the same token with every request, and checking its signature again (for OIDC,
    also a key look-up off the event loop) is most of what authentication costs. Bounded by count
    (least recently used evicted first: about 1 KB each) and by age, so a key the provider
    withdraws stops being honoured within ``max_age_s``, as it would with a cached JWKS."""

    def __init__(self, max_entries: int, max_age_s: float) -> None:
        self._entries: OrderedDict[str, _Verified] = OrderedDict()
        self._max_entries = max_entries
        self._max_age_s = max_age_s

    def get(self, token: str, now: float) -> _Verified | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        if now - entry.cached_at > self._max_age_s:
            del self._entries[token]
            return None
        self._entries.move_to_end(token)
        return entry

    def put(self, token: str, entry: _Verified) -> None:
        self._entries[token] = entry
        self._entries.move_to_end(token)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def drop(self, token: str) -> None:
        self._entries.pop(token, None)


#: Enough for every participant of a busy round to stay cached between two of their requests.
VERIFIED_TOKENS_MAX = 16_384
#: How long a verified token is trusted without checking its signature again.
VERIFIED_TOKENS_MAX_AGE_S = 300.0


class Authenticator:
    def __init__(self, settings: ServiceSettings) -> None:
        self._issuer = settings.auth_issuer
        self._audience = settings.auth_audience
        self._jwks = jwt.PyJWKClient(settings.auth_jwks_url) if settings.auth_jwks_url else None
        self._secret = settings.auth_dev_secret.get_secret_value() if settings.auth_dev_secret else None
        self._leeway = settings.auth_clock_leeway_s
        #: The OIDC bound when a JWKS is configured (the dev key is then refused anyway).
        self._max_lifetime_s = settings.auth_max_token_lifetime_s if self._jwks else DEV_MAX_LIFETIME_S
        self._verified = _VerifiedTokens(VERIFIED_TOKENS_MAX, VERIFIED_TOKENS_MAX_AGE_S)

    async def verify(self, token: str) -> Principal:
        """The token's principal; 401 when it is not (or no longer, or not yet) valid. A token
        verified before is not verified again, but its times are checked at every use, with the
        same leeway and the same answers as a full verification."""
        now = time.time()
        cached = self._verified.get(token, now)
        if cached is not None:
            self._check_times(token, cached, now)
            return cached.principal
        principal, claims = await self._decode(token)
        nbf = claims.get("nbf")
        entry = _Verified(
            principal, int(claims["exp"]), None if nbf is None else int(nbf), int(claims["iat"]), now
        )
        self._verified.put(token, entry)
        return principal

    def _check_times(self, token: str, entry: _Verified, now: float) -> None:
        """PyJWT's own time rules (``exp <= now - leeway`` is expired; ``nbf`` or ``iat`` later
        than ``now + leeway`` is not valid yet), for a token whose signature was checked."""
        if entry.exp <= now - self._leeway:
            self._verified.drop(token)
            raise _unauthorized("token expired")
        if entry.iat > now + self._leeway:
            self._verified.drop(token)
            raise _unauthorized("token issued in the future (iat is later than now)")
        if entry.nbf is not None and entry.nbf > now + self._leeway:
            self._verified.drop(token)
            raise _unauthorized("token not valid yet (nbf is later than now)")

    async def _decode(self, token: str) -> tuple[Principal, dict[str, Any]]:
        options: jwt.types.Options = {"require": ["exp", "iat", "sub"]}
        try:
            if self._jwks is not None:
                # PyJWKClient fetches and caches keys with blocking I/O: keep it off the loop.
                key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
                claims = jwt.decode(
                    token,
                    key.key,
                    algorithms=["RS256", "ES256", "PS256"],
                    audience=self._audience,
                    issuer=self._issuer,
                    options=options,
                    leeway=self._leeway,
                )
            elif self._secret is not None:
                claims = jwt.decode(
                    token,
                    self._secret,
                    algorithms=["HS256"],
                    audience=self._audience,
                    options=options,
                    leeway=self._leeway,
                )
            else:
                raise _unauthorized("authentication is not configured on this service")
        except jwt.ExpiredSignatureError:
            raise _unauthorized("token expired") from None
        except jwt.MissingRequiredClaimError as exc:
            raise _unauthorized(f"invalid token: the {exc.claim!r} claim is required") from None
        except jwt.ImmatureSignatureError as exc:
            claim = "iat" if "(iat)" in str(exc) else "nbf"
            when = "issued in the future" if claim == "iat" else "not valid yet"
            raise _unauthorized(f"token {when} ({claim} is later than now)") from None
        except jwt.PyJWTError as exc:
            raise _unauthorized(f"invalid token: {exc}") from None
        lifetime = int(claims["exp"]) - int(claims["iat"])
        if lifetime > self._max_lifetime_s:
            raise _unauthorized(
                f"token lifetime {lifetime}s (exp - iat) exceeds the {self._max_lifetime_s}s allowed"
            )
        roles = claims.get("roles", [])
        members = claims.get("member_ids", [])
        try:
            member_ids = frozenset(UUID(str(m)) for m in members)
        except ValueError:
            raise _unauthorized("invalid token: member_ids must be UUIDs") from None
        return Principal(str(claims["sub"]), frozenset(str(r) for r in roles), member_ids), claims


async def _principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("a bearer token is required")
    auth: Authenticator = request.app.state.authenticator
    principal = await auth.verify(token.strip())
    request.state.principal = principal
    return principal


Authenticated = Annotated[Principal, Depends(_principal)]


def require(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency that lets a request through only with one of ``roles`` (401 without a valid
    token, 403 with one that lacks the role)."""

    async def dependency(principal: Authenticated) -> Principal:
        if not principal.has(*roles):
            raise Problem(
                403,
                "Forbidden",
                f"this action needs one of the roles: {', '.join(r.value for r in roles)}",
            )
        return principal

    return dependency


def mint_token(
    secret: str,
    subject: str,
    roles: list[str],
    *,
    member_ids: list[str] | None = None,
    audience: str = "sharaka",
    ttl_s: int = 3600,
) -> str:
    """A dev-key token with ``iat`` and an ``exp`` at most :data:`DEV_MAX_LIFETIME_S` later."""
    if not 0 < ttl_s <= DEV_MAX_LIFETIME_S:
        raise ValueError(f"ttl_s must be between 1 and {DEV_MAX_LIFETIME_S} seconds")
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject,
        "roles": roles,
        "aud": audience,
        "iat": now,
        "exp": now + ttl_s,
    }
    if member_ids:
        claims["member_ids"] = member_ids
    return jwt.encode(claims, secret, algorithm="HS256")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared.auth", description="Mint a local development token."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    mint = sub.add_parser("mint")
    mint.add_argument("--sub", default="dev-user")
    mint.add_argument("--role", action="append", default=[], choices=[r.value for r in Role])
    mint.add_argument("--member", action="append", default=[], help="member id (government)")
    mint.add_argument("--ttl", type=int, default=8 * 3600, help=f"seconds, at most {DEV_MAX_LIFETIME_S}")
    args = parser.parse_args(argv)
    if not 0 < args.ttl <= DEV_MAX_LIFETIME_S:
        parser.error(f"--ttl must be between 1 and {DEV_MAX_LIFETIME_S} seconds")
    secret = os.environ.get("SHARAKA_AUTH_DEV_SECRET", DEV_SECRET)
    print(mint_token(secret, args.sub, args.role or ["staff"], member_ids=args.member, ttl_s=args.ttl))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

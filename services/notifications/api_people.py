"""Profiles, subscriptions and erasure for signed-in people (their own only; staff for anyone)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from services.notifications.domain.recipients import DigestMode, QuietHours, Recipient
from services.notifications.domain.subscriptions import Subscription
from services.notifications.domain.triggers import FOLLOWABLE, ScopeType
from services.notifications.use_cases import people
from shared.auth import Authenticated, Principal, Role, person_id, require
from shared.events.notifications import Channel
from shared.runtime import Runtime, runtime_of

router = APIRouter(prefix="/v1", tags=["people"])
RT = Annotated[Runtime, Depends(runtime_of)]
Staff = Annotated[Principal, Depends(require(Role.STAFF))]
Language = Literal["ar", "en", "fr", "es"]


class QuietHoursIn(BaseModel):
    start: time = Field(description="local time SMS stop, e.g. 21:00")
    end: time = Field(description="local time SMS resume, e.g. 07:30")


class ProfileIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32, description="E.164, e.g. +21612345678")
    language: str = Field(default="en", description="ar, en, fr or es")
    channels: list[Channel] = Field(default_factory=lambda: [Channel.EMAIL, Channel.SMS])
    digest: DigestMode = DigestMode.IMMEDIATE
    timezone: str = Field(default="UTC", description="IANA time zone, e.g. Africa/Tunis")
    quiet_hours: QuietHoursIn | None = None


class ProfileOut(BaseModel):
    id: UUID
    kind: str
    name: str
    email: str | None
    phone: str | None
    language: str
    channels: list[Channel]
    digest: DigestMode
    timezone: str
    quiet_hours: QuietHoursIn | None
    next_digest_at: datetime | None
    email_opted_out: bool
    sms_opted_out: bool

    @classmethod
    def of(cls, r: Recipient) -> ProfileOut:
        return cls(
            id=r.id, kind=r.kind.value, name=r.name, email=r.email, phone=r.phone, language=r.language,
            channels=sorted(r.channels), digest=r.digest, timezone=r.timezone,
            quiet_hours=QuietHoursIn(start=r.quiet.start, end=r.quiet.end) if r.quiet else None,
            next_digest_at=r.next_digest_at, email_opted_out=r.email_opt_out_at is not None,
            sms_opted_out=r.sms_opt_out_at is not None,
        )  # fmt: skip


class FollowIn(BaseModel):
    scope_type: ScopeType
    scope_id: UUID
    kinds: list[str] = Field(default_factory=list, description="empty: every kind the scope has")


class SubscriptionOut(BaseModel):
    id: UUID
    recipient_id: UUID
    scope_type: ScopeType
    scope_id: UUID
    kinds: list[str]
    created_at: datetime
    confirmed: bool

    @classmethod
    def of(cls, s: Subscription) -> SubscriptionOut:
        return cls(id=s.id, recipient_id=s.recipient_id, scope_type=s.scope_type, scope_id=s.scope_id,
                   kinds=sorted(s.kinds), created_at=s.created_at,
                   confirmed=s.confirmed_at is not None)  # fmt: skip


class ErasureIn(BaseModel):
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32)


class ErasureOut(BaseModel):
    erasure_id: UUID
    recipients_erased: int


class MeOut(BaseModel):
    recipient_id: UUID


class KindOut(BaseModel):
    kind: str
    scopes: list[ScopeType]


def _now() -> datetime:
    return datetime.now(UTC)


@router.get("/kinds", response_model=list[KindOut], tags=["subscriptions"])
async def kinds() -> list[KindOut]:
    """The kinds of event one can follow, and where."""
    return [KindOut(kind=k, scopes=sorted(s)) for k, s in FOLLOWABLE.items()]


@router.get("/me", response_model=MeOut)
async def me(who: Authenticated) -> MeOut:
    """Your recipient id (the same in every service, derived from your sign-in)."""
    return MeOut(recipient_id=person_id(who.subject))


@router.put("/recipients/{recipient_id}/preferences", response_model=ProfileOut)
async def save_preferences(rt: RT, who: Authenticated, recipient_id: UUID, body: ProfileIn) -> ProfileOut:
    quiet = QuietHours(body.quiet_hours.start, body.quiet_hours.end) if body.quiet_hours else None
    async with rt.uow() as uow:
        r = await people.save_profile(uow, people.SaveProfile(
            who, recipient_id, body.name, body.email, body.phone, body.language, frozenset(body.channels),
            body.digest, body.timezone, quiet, _now(),
        ))  # fmt: skip
    return ProfileOut.of(r)


@router.get("/recipients/{recipient_id}/preferences", response_model=ProfileOut)
async def get_preferences(rt: RT, who: Authenticated, recipient_id: UUID) -> ProfileOut:
    async with rt.uow() as uow:
        return ProfileOut.of(await people.profile(uow, people.Profile(who, recipient_id)))


@router.get("/recipients/{recipient_id}/subscriptions", response_model=list[SubscriptionOut])
async def list_subscriptions(rt: RT, who: Authenticated, recipient_id: UUID) -> list[SubscriptionOut]:
    async with rt.uow() as uow:
        subs = await people.subscriptions(uow, people.Subscriptions(who, recipient_id))
    return [SubscriptionOut.of(s) for s in subs]


@router.post(
    "/recipients/{recipient_id}/subscriptions",
    response_model=SubscriptionOut,
    status_code=201,
    responses={200: {"model": SubscriptionOut, "description": "already followed: unchanged"}},
)
async def follow(
    rt: RT, who: Authenticated, recipient_id: UUID, body: FollowIn, response: Response
) -> SubscriptionOut:
    """Follow a member, plan, commitment, round or review. Asking again for the same is 200 and
    changes nothing."""
    async with rt.uow() as uow:
        sub, changed = await people.follow(uow, people.Follow(
            who, recipient_id, body.scope_type, body.scope_id, frozenset(body.kinds), _now()
        ))  # fmt: skip
    if not changed:
        response.status_code = 200
    return SubscriptionOut.of(sub)


@router.delete("/subscriptions/{subscription_id}", status_code=204)
async def unfollow(rt: RT, who: Authenticated, subscription_id: UUID) -> Response:
    async with rt.uow() as uow:
        await people.unfollow(uow, people.Unfollow(who, subscription_id))
    return Response(status_code=204)


@router.delete("/recipients/{recipient_id}", response_model=ErasureOut, tags=["privacy"])
async def erase_recipient(rt: RT, who: Authenticated, recipient_id: UUID) -> ErasureOut:
    """Erase a person (yourself, or anyone for staff) here and in every service holding their
    contact details."""
    async with rt.uow() as uow:
        done = await people.erase(uow, people.Erase(who, _now(), recipient_id=recipient_id))
    return ErasureOut(erasure_id=done.erasure_id, recipients_erased=done.recipients_erased)


@router.post("/erasures", response_model=ErasureOut, tags=["privacy"])
async def erase_by_address(rt: RT, who: Staff, body: ErasureIn) -> ErasureOut:
    """Staff: erase whoever an e-mail address or phone number names, everywhere."""
    async with rt.uow() as uow:
        done = await people.erase(uow, people.Erase(who, _now(), email=body.email, phone=body.phone))
    return ErasureOut(erasure_id=done.erasure_id, recipients_erased=done.recipients_erased)

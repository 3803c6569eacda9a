"""Profiles, following, consent and erasure.

* A signed-in person keeps one profile (their recipient id is :func:`shared.auth.person_id` of
  their token subject) and follows what they like; staff may act for anyone.
* A follower without an account gives an address and confirms it by a signed link (double opt-in);
  until then they get the confirmation and nothing else.
* Unsubscribe links and SMS ``STOP`` opt a person out of a channel; every change of consent is
  recorded with its time and source.
* Erasure deletes a person's details here and asks every other service that holds contact details
  to do the same (:class:`~shared.events.privacy.ErasureRequested`, which names them by digests).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4, uuid5

from services.notifications.domain.deliveries import CONFIRMATION, RECIPIENT_ERASED, Delivery
from services.notifications.domain.recipients import (
    DigestMode,
    QuietHours,
    Recipient,
    RecipientKind,
    check_email,
    check_language,
    check_phone,
    check_timezone,
)
from services.notifications.domain.subscriptions import Subscription
from services.notifications.domain.triggers import ScopeType, Trigger
from services.notifications.store import NotificationsUnitOfWork
from shared.auth import Principal, Role, person_id
from shared.errors import Forbidden, Invalid, NotFound, RuleViolation
from shared.events.notifications import Channel
from shared.events.privacy import ErasureRequested, digest

CONFIRMATION_WINDOW_S = 600
_CONFIRMATIONS = UUID("4f3c2a1b-8e7d-4c6b-9a5f-0e1d2c3b4a59")

#: Roles a person's token may carry that the built-in rules listen for.
_RULE_ROLES = frozenset({"staff", "irm", "moderator", "researcher", "government"})


def _may_act_for(who: Principal, recipient_id: UUID) -> bool:
    return who.has(Role.STAFF) or person_id(who.subject) == recipient_id


def _check_access(who: Principal, recipient_id: UUID) -> None:
    if not _may_act_for(who, recipient_id):
        raise Forbidden("only the person themselves or OGP staff may do this")


@dataclass(frozen=True, slots=True)
class SaveProfile:
    who: Principal
    recipient_id: UUID
    name: str
    email: str | None
    phone: str | None
    language: str
    channels: frozenset[Channel]
    digest: DigestMode
    timezone: str
    quiet: QuietHours | None
    now: datetime


async def save_profile(uow: NotificationsUnitOfWork, cmd: SaveProfile) -> Recipient:
    """Create or change a signed-in person's profile. Only they may create it (staff may change
    anyone's existing choices)."""
    _check_access(cmd.who, cmd.recipient_id)
    own = person_id(cmd.who.subject) == cmd.recipient_id
    email, phone = check_email(cmd.email), check_phone(cmd.phone)
    if not email and not phone:
        raise Invalid("email", "give an e-mail address or a phone number")
    check_language(cmd.language)
    check_timezone(cmd.timezone)
    existing = await uow.recipients.get(cmd.recipient_id)
    if existing is None and not own:
        raise NotFound(f"no recipient {cmd.recipient_id}")
    r = existing or Recipient(
        id=cmd.recipient_id, name=cmd.name, kind=RecipientKind.ACCOUNT, confirmed_at=cmd.now
    )
    if own:
        r.roles = frozenset(cmd.who.roles) & _RULE_ROLES
    r.name, r.email, r.phone, r.language = cmd.name.strip(), email, phone, cmd.language
    r.channels, r.timezone, r.quiet = cmd.channels, cmd.timezone, cmd.quiet
    r.choose_digest(cmd.digest, cmd.now)
    await uow.recipients.save(r)
    return r


@dataclass(frozen=True, slots=True)
class Profile:
    who: Principal
    recipient_id: UUID


async def profile(uow: NotificationsUnitOfWork, cmd: Profile) -> Recipient:
    _check_access(cmd.who, cmd.recipient_id)
    r = await uow.recipients.get(cmd.recipient_id)
    if r is None:
        raise NotFound(f"no recipient {cmd.recipient_id}")
    return r


@dataclass(frozen=True, slots=True)
class Follow:
    who: Principal
    recipient_id: UUID
    scope_type: ScopeType
    scope_id: UUID
    kinds: frozenset[str]
    now: datetime


async def follow(uow: NotificationsUnitOfWork, cmd: Follow) -> tuple[Subscription, bool]:
    """Subscribe a signed-in person (or, by staff, anyone known); True when something changed."""
    _check_access(cmd.who, cmd.recipient_id)
    if await uow.recipients.get(cmd.recipient_id) is None:
        raise RuleViolation(
            "subscription.profile_required", "save a profile (how to reach you) before following"
        )
    wanted = Subscription.new(
        cmd.recipient_id, cmd.scope_type, cmd.scope_id, cmd.kinds, cmd.now, confirmed=True
    )
    return await _keep(uow, wanted, source="api")


@dataclass(frozen=True, slots=True)
class Subscriptions:
    who: Principal
    recipient_id: UUID


async def subscriptions(uow: NotificationsUnitOfWork, cmd: Subscriptions) -> list[Subscription]:
    _check_access(cmd.who, cmd.recipient_id)
    return await uow.subscriptions.of(cmd.recipient_id)


@dataclass(frozen=True, slots=True)
class Unfollow:
    who: Principal
    subscription_id: UUID


async def unfollow(uow: NotificationsUnitOfWork, cmd: Unfollow) -> None:
    sub = await uow.subscriptions.get(cmd.subscription_id)
    if sub is None:
        raise NotFound(f"no subscription {cmd.subscription_id}")
    _check_access(cmd.who, sub.recipient_id)
    await uow.subscriptions.delete(sub.id)
    await uow.consents.record(sub.recipient_id, "unsubscribed", source="api", scope=sub.scope)


@dataclass(frozen=True, slots=True)
class FollowPublicly:
    name: str
    email: str | None
    phone: str | None
    language: str
    scope_type: ScopeType
    scope_id: UUID
    kinds: frozenset[str]
    now: datetime


@dataclass(frozen=True, slots=True)
class PendingFollow:
    recipient_id: UUID
    subscription_id: UUID
    confirmation: Delivery | None


async def follow_publicly(uow: NotificationsUnitOfWork, cmd: FollowPublicly) -> PendingFollow:
    """A follower without an account: the subscription waits for the confirmation link, which is
    the only message they get until they click it. Asking again sends it again (once per ask)."""
    email, phone = check_email(cmd.email), check_phone(cmd.phone)
    if not email and not phone:
        raise Invalid("email", "give an e-mail address or a phone number")
    check_language(cmd.language)
    person = (await uow.recipients.by_email(email) if email else None) or next(
        iter(await uow.recipients.by_phone(phone) if phone else []), None
    )
    if person is None:
        channels = frozenset({Channel.EMAIL} if email else {Channel.SMS})
        person = Recipient(id=uuid4(), name=cmd.name.strip(), email=email, phone=phone, language=cmd.language,
                           kind=RecipientKind.PUBLIC, channels=channels)  # fmt: skip
        await uow.recipients.save(person)
    wanted = Subscription.new(person.id, cmd.scope_type, cmd.scope_id, cmd.kinds, cmd.now, confirmed=False)
    existing = await uow.subscriptions.find(person.id, cmd.scope_type, cmd.scope_id)
    if existing is not None and existing.confirmed_at is not None:
        # Already following: an anonymous request must not change (or suspend) what the person
        # confirmed; they change it with their unsubscribe link or an account.
        return PendingFollow(person.id, existing.id, None)
    if existing is not None:
        wanted.id = existing.id
    await uow.subscriptions.save(wanted)
    await uow.consents.record(person.id, "subscribed", source="public_form", scope=wanted.scope)
    known = await uow.lookups.context(Trigger("", uuid4(), cmd.now, {cmd.scope_type: cmd.scope_id}))
    what = known.round_title or known.plan_title or known.member_name or cmd.scope_type.value
    # One confirmation per subscription per ten minutes, however often the form is sent: the
    # cause is fixed for the window and deliveries are unique per cause.
    window = int(cmd.now.timestamp() // CONFIRMATION_WINDOW_S)
    cause = uuid5(_CONFIRMATIONS, f"{wanted.id}/{window}")
    confirmation = Delivery.queue(
        cause_event_id=cause, template=CONFIRMATION, recipient_id=person.id,
        channel=Channel.EMAIL if (email and person.email) else Channel.SMS,
        params={"subscription_id": str(wanted.id), "what": what},
    )  # fmt: skip
    queued = await uow.deliveries.add(confirmation)
    return PendingFollow(person.id, wanted.id, confirmation if queued else None)


@dataclass(frozen=True, slots=True)
class Confirm:
    recipient_id: UUID
    subscription_id: UUID | None
    now: datetime


async def confirm(uow: NotificationsUnitOfWork, cmd: Confirm) -> bool:
    """The confirmation link was followed: the person and the subscription are confirmed. False
    when there was nothing left to confirm (a second click, or the subscription was removed)."""
    person = await uow.recipients.get(cmd.recipient_id)
    if person is None:
        raise NotFound("this link no longer leads anywhere")
    changed = False
    if person.confirmed_at is None:
        person.confirmed_at = cmd.now
        await uow.recipients.save(person)
        changed = True
    sub = await uow.subscriptions.get(cmd.subscription_id) if cmd.subscription_id else None
    if sub is not None and sub.recipient_id == person.id and sub.confirm(cmd.now):
        await uow.subscriptions.save(sub)
        changed = True
    if changed:
        await uow.consents.record(
            person.id, "confirmed", source="email_link", scope=sub.scope if sub else None
        )
    return changed


@dataclass(frozen=True, slots=True)
class OptOut:
    recipient_id: UUID
    channel: Channel
    source: str
    now: datetime


async def opt_out(uow: NotificationsUnitOfWork, cmd: OptOut) -> bool:
    """No more messages on this channel (an unsubscribe link, RFC 8058's one-click POST, or SMS
    STOP). False when the person had opted out already or is gone."""
    person = await uow.recipients.get(cmd.recipient_id)
    if person is None:
        return False
    if cmd.channel is Channel.EMAIL:
        if person.email_opt_out_at is not None:
            return False
        person.email_opt_out_at = cmd.now
    else:
        if person.sms_opt_out_at is not None:
            return False
        person.sms_opt_out_at = cmd.now
    await uow.recipients.save(person)
    await uow.consents.record(person.id, "opted_out", source=cmd.source, channel=cmd.channel.value)
    return True


@dataclass(frozen=True, slots=True)
class SmsReply:
    phone: str
    stop: bool
    start: bool
    now: datetime


async def sms_reply(uow: NotificationsUnitOfWork, cmd: SmsReply) -> int:
    """STOP (or START) sent to the gateway: everyone with that number opts out of (or back into)
    SMS; how many people changed."""
    changed = 0
    for person in await uow.recipients.by_phone(cmd.phone):
        if cmd.stop:
            changed += await opt_out(uow, OptOut(person.id, Channel.SMS, "sms_stop", cmd.now))
        elif cmd.start and person.sms_opt_out_at is not None:
            person.sms_opt_out_at = None
            await uow.recipients.save(person)
            await uow.consents.record(person.id, "opted_in", source="sms_start", channel="sms")
            changed += 1
    return changed


@dataclass(frozen=True, slots=True)
class Erase:
    """Erase a person: by their recipient id, or by an e-mail address and/or phone number."""

    who: Principal
    now: datetime
    recipient_id: UUID | None = None
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class Erased:
    erasure_id: UUID
    recipients_erased: int


async def erase(uow: NotificationsUnitOfWork, cmd: Erase) -> Erased:
    """Delete the person's details here (and what is held for them), fail what was still to be
    sent to them, and ask the other services to erase them too. The audit keeps no personal data."""
    if cmd.recipient_id is None and not cmd.email and not cmd.phone:
        raise Invalid("email", "name the person: a recipient id, an e-mail address or a phone number")
    if cmd.recipient_id is not None:
        _check_access(cmd.who, cmd.recipient_id)
    elif not cmd.who.has(Role.STAFF):
        raise Forbidden("only OGP staff may erase by address")
    email = check_email(cmd.email)
    phone = check_phone(cmd.phone)
    ids: set[UUID] = set()
    if cmd.recipient_id is not None:
        person = await uow.recipients.get(cmd.recipient_id)
        if person is None:
            raise NotFound(f"no recipient {cmd.recipient_id}")
        email, phone = email or person.email, phone or person.phone
        ids.add(person.id)
    email_sha = digest(email) if email else None
    phone_sha = digest(phone) if phone else None
    ids.update(await uow.recipients.matching(email_sha, phone_sha))
    await uow.deliveries.cancel_for(sorted(ids), RECIPIENT_ERASED.reason)
    erased = await uow.recipients.delete(sorted(ids))
    for rid in sorted(ids):
        await uow.consents.record(rid, "erased", source="erasure_api")
    erasure_id = uuid4()
    requested_by = "self" if cmd.recipient_id and person_id(cmd.who.subject) == cmd.recipient_id else "staff"
    await uow.consents.erasure(erasure_id, source="api", requested_by=requested_by, erased=erased)
    uow.publish(ErasureRequested(erasure_id=erasure_id, email_sha256=email_sha, phone_sha256=phone_sha,
                                 requested_at=cmd.now))  # fmt: skip
    return Erased(erasure_id, erased)


async def _keep(
    uow: NotificationsUnitOfWork, wanted: Subscription, *, source: str
) -> tuple[Subscription, bool]:
    existing = await uow.subscriptions.find(wanted.recipient_id, wanted.scope_type, wanted.scope_id)
    if existing is not None and existing.same_as(wanted) and existing.confirmed_at is not None:
        return existing, False
    if existing is not None:
        wanted.id, wanted.created_at = existing.id, existing.created_at
    await uow.subscriptions.save(wanted)
    await uow.consents.record(wanted.recipient_id, "subscribed", source=source, scope=wanted.scope)
    return wanted, True

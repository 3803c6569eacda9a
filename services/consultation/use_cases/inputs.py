"""Submissions, comments and their moderation.

Posting is the service's hot path: four round trips on the common path (BEGIN, the round with
its author counted in their window, the input with its outbox row, COMMIT); a reply or an explicit
commitment anchor adds a lookup, a duplicate one more to name the first copy, and a contact left to
hear of the response (``notify``) one insert (the contact with its private event's outbox row)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from services.consultation.domain.common import MODERATING_ROLES, Actor
from services.consultation.domain.contacts import AuthorContact, ContactRequest
from services.consultation.domain.inputs import (
    Anchor,
    Input,
    ModeratedInput,
    Text,
    check_length,
    check_rate,
    duplicate_text,
    unknown_commitment,
    unknown_parent,
)
from services.consultation.domain.rounds import check_takes_input
from services.consultation.store import ConsultationUnitOfWork
from shared.errors import NotFound
from shared.events.consultation import InputKind


@dataclass(frozen=True, slots=True)
class RateLimit:
    """Actions one person may take per window (inputs and flags together)."""

    inputs: int
    window: timedelta


@dataclass(frozen=True, slots=True)
class PostInput:
    who: Actor
    round_id: UUID
    kind: InputKind
    text: Text
    limit: RateLimit
    max_chars: int
    anchor: Anchor | None = None
    parent_id: UUID | None = None
    #: How the author wants to hear of the reasoned response, if at all.
    notify: ContactRequest | None = None


async def post_input(uow: ConsultationUnitOfWork, cmd: PostInput) -> Input:
    """Post a submission or a comment. Refusals, in order: oversize text or an unusable contact
    to notify (422), unknown round (404), a round that takes no input (409 ``round_not_open``),
    an unknown parent or anchor commitment (422), too many inputs in the window (429; staff and
    the plan's own government are not limited), the same text twice (409 ``duplicate_text``).

    A contact to notify is stored with the input and published on the private contacts topic
    only (:class:`AuthorContactRegistered`), in the same transaction."""
    check_length(cmd.text.body, cmd.max_chars)
    details = None
    if cmd.notify is not None:  # checked before anything is read or counted
        details = cmd.notify.checked(display_name=cmd.text.display_name, input_language=cmd.text.language)
    now = datetime.now(UTC)
    target = await uow.inputs.target(cmd.round_id, cmd.who.subject, now, cmd.limit.window)
    if target is None:
        raise NotFound(f"round {cmd.round_id}")
    check_takes_input(target.state)
    parent = None
    if cmd.parent_id is not None:
        parent = await uow.inputs.anchor_of(cmd.parent_id, cmd.round_id)
        if parent is None:
            raise unknown_parent(cmd.parent_id)
    if cmd.anchor is None:
        anchor = target.default_anchor(parent)
    else:
        cmd.anchor.check()
        cid = cmd.anchor.commitment_id
        if cid is not None and not await uow.commitments.belongs(cid, target.plan_id):
            raise unknown_commitment(cid)
        anchor = cmd.anchor.masked()
    # Staff and the plan's own government answer in threads: their inputs need no response and
    # are not rate-limited. A government official of another member is a participant here.
    official = cmd.who.acts_for(target.member_id)
    assert target.counted is not None  # the round is open: its author was counted
    check_rate(target.counted, cmd.limit.inputs, now, cmd.limit.window, exempt=official)
    item, [event] = Input.post(
        target, cmd.kind, cmd.text, anchor=anchor, parent_id=cmd.parent_id, official=official, now=now
    )
    if await uow.inputs.add_with_event(item, event) is None:
        raise duplicate_text(await uow.inputs.first_copy(item))
    if details is not None:
        contact = AuthorContact(item.id, item.round_id, item.plan_id, details, now)
        await uow.author_contacts.add_with_event(contact, contact.event())
    return item


async def _for_moderation(uow: ConsultationUnitOfWork, input_id: UUID) -> ModeratedInput:
    item = await uow.inputs.for_moderation(input_id)
    if item is None:
        raise NotFound(f"submission or comment {input_id}")
    return item


@dataclass(frozen=True, slots=True)
class FlagInput:
    who: Actor
    input_id: UUID
    reason: str
    limit: RateLimit


@dataclass(frozen=True, slots=True)
class Flagged:
    input_id: UUID
    flags: int
    already_flagged: bool


async def flag_input(uow: ConsultationUnitOfWork, cmd: FlagInput) -> Flagged:
    """Anyone signed in may flag an input once. ``flags`` counts the flags no moderator has acted
    on yet: the first one puts the input in the queue and is published, later ones raise the
    count; hiding or restoring empties it. Flags count against the same per-person window as
    inputs (moderators and staff aside), so one account cannot flood the queue."""
    now = datetime.now(UTC)
    item = await _for_moderation(uow, cmd.input_id)
    counted = await uow.participants.count(cmd.who.subject, now, cmd.limit.window)
    exempt = bool(MODERATING_ROLES & cmd.who.roles)
    check_rate(counted, cmd.limit.inputs, now, cmd.limit.window, exempt=exempt)
    if not await uow.inputs.add_flag(item.id, counted.participant_id, cmd.reason, now):
        return Flagged(item.id, item.flags, already_flagged=True)
    entry, events = item.flag(cmd.reason, cmd.who.subject, now)
    await uow.inputs.save_moderation(item, entry)
    for event in events:
        uow.publish(event)
    return Flagged(item.id, item.flags, already_flagged=False)


@dataclass(frozen=True, slots=True)
class HideInput:
    who: Actor
    input_id: UUID
    public_reason: str
    note: str | None = None


async def hide_input(uow: ConsultationUnitOfWork, cmd: HideInput) -> ModeratedInput:
    item = await _for_moderation(uow, cmd.input_id)
    entry, events = item.hide(cmd.public_reason, cmd.note, cmd.who.subject, datetime.now(UTC))
    await uow.inputs.save_moderation(item, entry)
    for event in events:
        uow.publish(event)
    return item


@dataclass(frozen=True, slots=True)
class RestoreInput:
    who: Actor
    input_id: UUID
    note: str | None = None


async def restore_input(uow: ConsultationUnitOfWork, cmd: RestoreInput) -> ModeratedInput:
    item = await _for_moderation(uow, cmd.input_id)
    entry, events = item.restore(cmd.note, cmd.who.subject, datetime.now(UTC))
    await uow.inputs.save_moderation(item, entry)
    for event in events:
        uow.publish(event)
    return item

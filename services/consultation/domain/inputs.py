"""Submissions and comments, with abuse control and moderation.

Abuse control, in order: only an open round takes input (409); more than ``rate_limit_inputs``
per ``rate_limit_window_s`` from one person is a 429 with ``Retry-After`` (staff and the plan's
own government answering in threads are not limited); the same text twice from the same person in
the same round is a 409 naming the first copy; oversize text is a 422.

The window itself is counted by the repository (a fixed window on the person's row, one
statement with the post); the rules here judge the count it returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from services.consultation.domain.common import redact_contacts, redact_link, text_hash
from services.consultation.domain.rounds import check_takes_input
from shared.errors import Invalid, RateLimited, RuleViolation
from shared.events.base import Event
from shared.events.consultation import (
    Alignment,
    AnchorType,
    CommentAdded,
    CommentModerated,
    InputKind,
    ModerationAction,
    RoundKind,
    RoundState,
    Sector,
    SubmissionReceived,
)


def check_length(body: str, max_chars: int) -> None:
    if len(body) > max_chars:
        raise Invalid("body", f"at most {max_chars} characters")


# --- the rate limiter's window --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Counted:
    """One person's fixed window, with this action counted in it (as the repository stored it)."""

    participant_id: UUID
    window_start: datetime
    count: int


def retry_after(window_start: datetime, now: datetime, window: timedelta) -> int:
    """Seconds until the window ends, for the 429's ``Retry-After`` (at least 1)."""
    return max(1, int((window_start + window - now).total_seconds() + 0.999))


def check_rate(counted: Counted, limit: int, now: datetime, window: timedelta, *, exempt: bool) -> None:
    """More than ``limit`` actions in one window is refused until the window ends."""
    if counted.count > limit and not exempt:
        seconds = retry_after(counted.window_start, now, window)
        raise RateLimited(f"too many inputs from you; try again in {seconds} s", seconds)


# --- anchors -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Anchor:
    """What an input is about: the plan, one of its commitments, or a passage of a draft."""

    type: AnchorType
    commitment_id: UUID | None = None
    section: str | None = None
    quote: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Anchor:
        cid = data.get("commitment_id")
        return cls(
            AnchorType(data["type"]), UUID(cid) if cid else None, data.get("section"), data.get("quote")
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "type": self.type.value,
            "commitment_id": str(self.commitment_id) if self.commitment_id else None,
            "section": self.section,
            "quote": self.quote,
        }

    def check(self) -> None:
        """The shape an anchor given by the author must have (its commitment is looked up after)."""
        if self.type is AnchorType.PLAN:
            if self.commitment_id or self.section or self.quote:
                raise Invalid("anchor", "a plan anchor takes no commitment, section or quote")
            return
        if self.type is AnchorType.PASSAGE and not (self.section or self.quote):
            raise Invalid("anchor.quote", "a passage anchor needs a section or a quote")
        if self.type is AnchorType.COMMITMENT and self.commitment_id is None:
            raise Invalid("anchor.commitment_id", "a commitment anchor names its commitment")

    def masked(self) -> Anchor:
        """A passage's section and quote are public text: contact details in them are masked."""
        if self.type is AnchorType.PLAN:
            return self
        return replace(
            self,
            section=redact_contacts(self.section) if self.section else self.section,
            quote=redact_contacts(self.quote) if self.quote else self.quote,
        )


def unknown_commitment(commitment_id: UUID) -> Invalid:
    return Invalid("anchor.commitment_id", f"the plan has no commitment {commitment_id}")


def unknown_parent(parent_id: UUID) -> Invalid:
    return Invalid("parent_id", f"the round has no submission or comment {parent_id}")


# --- posting -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """The round an input is posted into, and its author counted in their window; ``counted`` is
    None when the round takes no input (the author's window is then left alone)."""

    round_id: UUID
    plan_id: UUID
    member_id: UUID
    kind: RoundKind
    commitment_id: UUID | None
    state: RoundState
    counted: Counted | None

    def default_anchor(self, parent: Anchor | None) -> Anchor:
        """Where an input points when its author did not say: the parent's anchor, else the
        round's commitment, else the plan."""
        if parent is not None:
            return parent
        if self.kind is RoundKind.COMMITMENT_DRAFT:
            return Anchor(AnchorType.COMMITMENT, self.commitment_id)
        return Anchor(AnchorType.PLAN)


@dataclass(frozen=True, slots=True)
class Text:
    """What the author wrote and declared (the profile only feeds aggregate statistics)."""

    title: str | None
    body: str
    alignment: Alignment = Alignment.NEUTRAL
    language: str = "en"
    links: list[str] = field(default_factory=list)
    display_name: str | None = None
    stakeholder_type: Sector | None = None
    region: str | None = None
    gender: str | None = None


@dataclass(slots=True)
class Input:
    """A submission or a comment. The text is kept whole (moderators see it); the public sees
    ``public_title``, ``public_body`` and ``public_links``, with contact details masked."""

    id: UUID
    kind: InputKind
    round_id: UUID
    plan_id: UUID
    parent_id: UUID | None
    anchor: Anchor
    text: Text
    author_id: UUID
    official: bool
    created_at: datetime
    text_hash: bytes
    seq: int | None = None

    @classmethod
    def post(
        cls,
        target: Target,
        kind: InputKind,
        text: Text,
        *,
        anchor: Anchor,
        parent_id: UUID | None,
        official: bool,
        now: datetime,
    ) -> tuple[Input, list[Event]]:
        check_takes_input(target.state)
        assert target.counted is not None  # counted whenever the round is open
        item = cls(
            uuid4(), kind, target.round_id, target.plan_id, parent_id if kind is InputKind.COMMENT else None,
            anchor, text, target.counted.participant_id, official, now, text_hash(text.title, text.body),
        )  # fmt: skip
        return item, [item.event()]

    @property
    def public_title(self) -> str | None:
        return redact_contacts(self.text.title) if self.text.title else None

    @property
    def public_body(self) -> str:
        return redact_contacts(self.text.body)

    @property
    def public_links(self) -> list[str]:
        """The links as stored and shown: a ``mailto:``/``tel:`` link is dropped, e-mail
        addresses and phone numbers inside the others masked. Unlike the text, a link is not kept
        whole for moderators: it is a pointer to elsewhere, not the author's own words."""
        return [shown for link in self.text.links if (shown := redact_link(link)) is not None]

    def event(self) -> SubmissionReceived | CommentAdded:
        if self.kind is InputKind.SUBMISSION:
            return SubmissionReceived(
                submission_id=self.id,
                round_id=self.round_id,
                plan_id=self.plan_id,
                anchor_type=self.anchor.type,
                commitment_id=self.anchor.commitment_id,
                alignment=self.text.alignment,
                language=self.text.language,
                received_at=self.created_at,
            )
        return CommentAdded(
            comment_id=self.id,
            round_id=self.round_id,
            plan_id=self.plan_id,
            parent_id=self.parent_id,
            anchor_type=self.anchor.type,
            commitment_id=self.anchor.commitment_id,
            alignment=self.text.alignment,
            language=self.text.language,
            added_at=self.created_at,
        )


def duplicate_text(first: UUID | None) -> RuleViolation:
    return RuleViolation("duplicate_text", f"you already posted this text in this round as {first}")


# --- moderation ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One line of the moderation audit log (who acted is for moderators only)."""

    input_id: UUID
    action: ModerationAction
    actor: str
    at: datetime
    public_reason: str | None = None
    note: str | None = None


@dataclass(slots=True)
class ModeratedInput:
    """An input as moderation sees it: visible or hidden, and the flags not acted on yet."""

    id: UUID
    kind: InputKind
    round_id: UUID
    plan_id: UUID
    hidden: bool
    hidden_reason: str | None
    flags: int

    def _event(self, entry: LogEntry) -> CommentModerated:
        return CommentModerated(
            input_id=self.id,
            input_kind=self.kind,
            round_id=self.round_id,
            plan_id=self.plan_id,
            action=entry.action,
            public_reason=entry.public_reason,
            visible=not self.hidden,
            moderated_at=entry.at,
        )

    def flag(self, reason: str, actor: str, now: datetime) -> tuple[LogEntry, list[Event]]:
        """A new flag (the repository said this person had not flagged it before). The first one
        puts the input in the queue and is published; later ones only raise the count."""
        first = self.flags == 0
        self.flags += 1
        entry = LogEntry(self.id, ModerationAction.FLAGGED, actor, now, note=reason)
        return entry, [self._event(entry)] if first else []

    def hide(
        self, public_reason: str, note: str | None, actor: str, now: datetime
    ) -> tuple[LogEntry, list[Event]]:
        """Hide the text; its existence and the public reason stay public. The queue empties."""
        if self.hidden:
            raise RuleViolation("already_hidden", "the input is already hidden")
        public_reason = redact_contacts(public_reason)  # shown and published in the text's place
        self.hidden, self.hidden_reason, self.flags = True, public_reason, 0
        entry = LogEntry(self.id, ModerationAction.HIDDEN, actor, now, public_reason=public_reason, note=note)
        return entry, [self._event(entry)]

    def restore(self, note: str | None, actor: str, now: datetime) -> tuple[LogEntry, list[Event]]:
        if not self.hidden:
            raise RuleViolation("not_hidden", "the input is not hidden")
        self.hidden, self.hidden_reason, self.flags = False, None, 0
        entry = LogEntry(self.id, ModerationAction.RESTORED, actor, now, note=note)
        return entry, [self._event(entry)]

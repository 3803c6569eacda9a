"""Request bodies of the consultation API. Unknown fields are refused (a typo is a 422, not a
silently ignored field); sizes are bounded so that no input is unboundedly expensive."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl

from services.consultation.domain.common import redact_contacts
from shared import dates
from shared.events.consultation import Alignment, AnchorType, Decision, RoundKind, Sector


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


#: NUL and the other C0 controls but tab, newline and carriage return; DEL; lone surrogates.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _safe(value: str) -> str:
    """Refuse what Postgres cannot store or what no person types: NUL and other control
    characters (newlines and tabs aside) and lone UTF-16 surrogates. (One pattern search: a
    loop over the characters in Python cost about 10 us per comment.)"""
    found = _UNSAFE.search(value)
    if found is not None:
        raise ValueError(f"contains a control character (U+{ord(found.group()):04X})")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _no_contact_details(value: str) -> str:
    if redact_contacts(value) != value:
        raise ValueError("must not contain an e-mail address or a phone number")
    return value


def _optional_no_contact(value: str | None) -> str | None:
    return None if value is None else _no_contact_details(value)


def _plausible(value: datetime) -> datetime:
    # Tighter than the platform's bound (shared.dates): no round predates the platform.
    if value.year < 2000:
        raise ValueError("must be between the years 2000 and 2199")
    return value


#: Any text the API stores.
Safe = Annotated[str, AfterValidator(_safe)]
#: Text that must say something.
Text = Annotated[Safe, AfterValidator(_not_blank)]
Moment = Annotated[
    dates.Moment, AfterValidator(_plausible), Field(json_schema_extra={"pattern": r"^2[01]\d\d-"})
]
LanguageTag = Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$", max_length=16)]


class Gender(StrEnum):
    WOMAN = "woman"
    MAN = "man"
    NON_BINARY = "non_binary"
    OTHER = "other"
    PREFER_NOT_TO_SAY = "prefer_not_to_say"


class RoundIn(_In):
    kind: RoundKind
    title: Annotated[Text, Field(max_length=300)]
    description: Annotated[Safe | None, Field(max_length=20_000)] = None
    #: Required for a ``commitment_draft`` round, refused otherwise.
    commitment_id: UUID | None = None
    opens_at: Moment
    closes_at: Moment


class OfflineEventIn(_In):
    format: Annotated[Text, Field(max_length=100, description="workshop, hearing, town hall...")]
    #: Recorded after the fact: not a future date.
    held_on: dates.Day
    participants: Annotated[int, Field(ge=0, le=1_000_000)]
    by_sector: dict[Sector, Annotated[int, Field(ge=0, le=1_000_000)]] = Field(default_factory=dict)
    report_url: HttpUrl | None = None


class AnchorIn(_In):
    """What an input is about: the plan, one of its commitments, or a passage of a draft."""

    type: AnchorType
    commitment_id: UUID | None = None
    section: Annotated[Safe | None, Field(max_length=200)] = None
    quote: Annotated[Safe | None, Field(max_length=500)] = None


class NotifyIn(_In):
    """How the author wants to hear of the government's reasoned response to this input: an
    e-mail address, an international phone number (``+216 71 123 456``), or both. Checked by
    the use case (422 naming ``notify.email``, ``notify.phone`` or ``notify.language``), kept
    apart from the input, never shown by any read API nor put in a public event."""

    #: How to address the author; defaults to ``display_name``, else none.
    name: Annotated[Safe | None, Field(max_length=200)] = None
    email: Annotated[str | None, Field(max_length=320)] = None
    phone: Annotated[str | None, Field(max_length=40)] = None
    #: ``ar``, ``en``, ``fr`` or ``es``; defaults to the input's language when it is one of them.
    language: Annotated[str | None, Field(max_length=16)] = None


class InputIn(_In):
    """A submission (an idea) or a comment. The author's profile is optional and self-declared;
    it feeds only the participation statistics and is never shown next to the text."""

    title: Annotated[Safe | None, Field(max_length=300)] = None
    #: Checked against ``CONSULTATION_INPUT_MAX_CHARS`` (422 naming ``body`` when longer).
    body: Text
    #: Where the input points; defaults to the round's commitment, or to the plan.
    anchor: AnchorIn | None = None
    alignment: Alignment = Alignment.NEUTRAL
    language: LanguageTag = "en"
    links: Annotated[list[HttpUrl], Field(max_length=10)] = Field(default_factory=list)
    #: Shown to the public when given; without it the author is anonymous to the public (never
    #: to moderators).
    display_name: Annotated[Text | None, Field(max_length=80), AfterValidator(_optional_no_contact)] = None
    stakeholder_type: Sector | None = None
    #: ISO 3166-2 code of the author's country or subdivision (``TN``, ``TN-11``): a code from a
    #: list, never free text, since it is published in the participation statistics.
    region: Annotated[str | None, Field(pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")] = None
    gender: Gender | None = None
    #: Optional: be told (by e-mail or SMS) when the government answers this input.
    notify: NotifyIn | None = None


class CommentIn(InputIn):
    #: The submission or comment this one answers; omit for a top-level comment.
    parent_id: UUID | None = None


class FlagIn(_In):
    reason: Annotated[Text, Field(max_length=500)]


class HideIn(_In):
    #: Shown to the public in place of the text.
    public_reason: Annotated[Text, Field(max_length=500)]
    #: For the audit log only.
    note: Annotated[Safe | None, Field(max_length=2_000)] = None


class RestoreIn(_In):
    note: Annotated[Safe | None, Field(max_length=2_000)] = None


class ResponseIn(_In):
    input_ids: Annotated[list[UUID], Field(min_length=1, max_length=500)]
    decision: Decision
    rationale: Annotated[Text, Field(max_length=10_000)]
    merged_into_commitment_id: UUID | None = None


class ResponseTableIn(_In):
    title: Annotated[Text | None, Field(max_length=300)] = None


class Page(BaseModel):
    items: list[dict[str, object]]
    #: Pass as ``after`` for the next page; null on the last page.
    next_after: int | None


class RoundOut(BaseModel):
    id: UUID
    plan_id: UUID
    member_id: UUID
    kind: RoundKind
    commitment_id: UUID | None
    title: str
    description: str | None
    opens_at: datetime
    closes_at: datetime
    scheduled_at: datetime
    notice_days: float
    short_notice: bool
    state: str
    opened_at: datetime | None
    closed_at: datetime | None
    close_reason: str | None

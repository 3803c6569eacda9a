"""Request bodies of the consultation API. Unknown fields are refused (a typo is a 422, not a
silently ignored field); sizes are bounded so that no input is unboundedly expensive."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, HttpUrl

from shared.events.consultation import Alignment, Anchor, Decision, RoundKind, Sector


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


Text = Annotated[str, AfterValidator(_not_blank)]
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
    description: Annotated[str | None, Field(max_length=20_000)] = None
    #: Required for a ``commitment_draft`` round, refused otherwise.
    commitment_id: UUID | None = None
    opens_at: AwareDatetime
    closes_at: AwareDatetime


class OfflineEventIn(_In):
    format: Annotated[Text, Field(max_length=100, description="workshop, hearing, town hall...")]
    held_on: date
    participants: Annotated[int, Field(ge=0, le=1_000_000)]
    by_sector: dict[Sector, Annotated[int, Field(ge=0, le=1_000_000)]] = Field(default_factory=dict)
    report_url: HttpUrl | None = None


class InputIn(_In):
    """A submission (an idea) or a comment. The author's profile is optional and self-declared;
    it feeds only the participation statistics and is never shown next to the text."""

    title: Annotated[str | None, Field(max_length=300)] = None
    #: Checked against ``CONSULTATION_INPUT_MAX_CHARS`` (422 naming ``body`` when longer).
    body: Text
    #: Where the input points; defaults to the round's commitment, or to the plan.
    anchor: Anchor | None = None
    alignment: Alignment = Alignment.NEUTRAL
    language: LanguageTag = "en"
    links: Annotated[list[HttpUrl], Field(max_length=10)] = Field(default_factory=list)
    #: Shown to the public when given; without it the author is anonymous to the public (never
    #: to moderators).
    display_name: Annotated[str | None, Field(max_length=80)] = None
    stakeholder_type: Sector | None = None
    region: Annotated[str | None, Field(max_length=100)] = None
    gender: Gender | None = None


class CommentIn(InputIn):
    #: The submission or comment this one answers; omit for a top-level comment.
    parent_id: UUID | None = None


class FlagIn(_In):
    reason: Annotated[Text, Field(max_length=500)]


class HideIn(_In):
    #: Shown to the public in place of the text.
    public_reason: Annotated[Text, Field(max_length=500)]
    #: For the audit log only.
    note: Annotated[str | None, Field(max_length=2_000)] = None


class RestoreIn(_In):
    note: Annotated[str | None, Field(max_length=2_000)] = None


class ResponseIn(_In):
    input_ids: Annotated[list[UUID], Field(min_length=1, max_length=500)]
    decision: Decision
    rationale: Annotated[Text, Field(max_length=10_000)]
    merged_into_commitment_id: UUID | None = None


class ResponseTableIn(_In):
    title: Annotated[str | None, Field(max_length=300)] = None


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

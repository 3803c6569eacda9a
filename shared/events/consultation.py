"""Contracts published by the consultation service on ``ogp.consultation.v1``.

Keys: events about a plan (rounds, inputs, responses, reports) are keyed by the plan id, so all of
a plan's consultation history is one ordered partition; forum events are keyed by the member id
(one forum per member).

What these events never carry, by design:

* **who wrote an input**: not the author's name, token subject, e-mail or phone, nor their
  self-declared stakeholder type, region or gender (those appear only as counts in
  :class:`ParticipationReported`);
* **the text of an input**: a moderator can hide a comment, and an immutable public log could
  not forget it. Subscribers read the text from the public API, which honours moderation.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.events import topics
from shared.events.base import Event


class Sector(StrEnum):
    """Sectors of forum members and of participants' self-declared stakeholder type."""

    GOVERNMENT = "government"
    CIVIL_SOCIETY = "civil_society"
    ACADEMIA = "academia"
    PRIVATE_SECTOR = "private_sector"
    OTHER = "other"


class RoundKind(StrEnum):
    #: An open call for ideas before anything is drafted.
    IDEAS = "ideas"
    #: Comments on the draft action plan as a whole.
    DRAFT_PLAN = "draft_plan"
    #: Comments on one commitment's draft.
    COMMITMENT_DRAFT = "commitment_draft"


class RoundState(StrEnum):
    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class MeetingPhase(StrEnum):
    CO_CREATION = "co_creation"
    IMPLEMENTATION = "implementation"
    OTHER = "other"


class InputKind(StrEnum):
    SUBMISSION = "submission"
    COMMENT = "comment"


class AnchorType(StrEnum):
    PLAN = "plan"
    COMMITMENT = "commitment"
    #: A passage of a draft, located by a section label and a quote of at most 500 characters.
    PASSAGE = "passage"


class Alignment(StrEnum):
    FOR = "for"
    AGAINST = "against"
    NEUTRAL = "neutral"


class ModerationAction(StrEnum):
    FLAGGED = "flagged"
    HIDDEN = "hidden"
    RESTORED = "restored"


class Decision(StrEnum):
    ACCEPTED = "accepted"
    PARTLY_ACCEPTED = "partly_accepted"
    REJECTED = "rejected"
    MERGED = "merged"
    OUT_OF_SCOPE = "out_of_scope"


class _ConsultationEvent(Event):
    topic: ClassVar[str] = topics.CONSULTATION


class CoCreationOpened(_ConsultationEvent):
    """A plan's co-creation space exists (the plan was created in the plans service)."""

    event_type: ClassVar[str] = "ogp.consultation.co_creation_opened.v1"
    key_field: ClassVar[str] = "plan_id"

    plan_id: UUID
    member_id: UUID
    opened_at: datetime


class CoCreationClosed(_ConsultationEvent):
    """The plan's co-creation space stopped taking input because the plan was submitted."""

    event_type: ClassVar[str] = "ogp.consultation.co_creation_closed.v1"
    key_field: ClassVar[str] = "plan_id"

    plan_id: UUID
    member_id: UUID
    opened_at: datetime | None
    closed_at: datetime


# --- the multi-stakeholder forum (standards 1 and 5) -----------------------------------------


class ForumEstablished(_ConsultationEvent):
    """A member's multi-stakeholder forum is on the platform with public rules of participation."""

    event_type: ClassVar[str] = "ogp.consultation.forum_established.v1"
    key_field: ClassVar[str] = "member_id"

    forum_id: UUID
    member_id: UUID
    name: str
    rules_url: str
    established_on: date


class ForumMeetingHeld(_ConsultationEvent):
    """The forum met. Attendance is counted by sector, never by name."""

    event_type: ClassVar[str] = "ogp.consultation.forum_meeting_held.v1"
    key_field: ClassVar[str] = "member_id"

    meeting_id: UUID
    forum_id: UUID
    member_id: UUID
    held_on: date
    phase: MeetingPhase
    #: The plan whose co-creation or implementation the meeting was about, if any.
    plan_id: UUID | None = None
    agenda: str
    minutes_url: str | None = None
    attendance: dict[Sector, int]


class ForumMeetingOverdue(_ConsultationEvent):
    """Timer: the forum has not met for more than six months (standard 1). Emitted once per gap:
    the gap is identified by the date it started from (the last meeting, or the forum's
    establishment when it never met)."""

    event_type: ClassVar[str] = "ogp.consultation.forum_meeting_overdue.v1"
    key_field: ClassVar[str] = "member_id"

    forum_id: UUID
    member_id: UUID
    last_meeting_on: date | None
    since: date
    due_on: date
    detected_at: datetime


# --- consultation rounds (standard 3) --------------------------------------------------------


class ConsultationScheduled(_ConsultationEvent):
    """A round of consultation is announced. ``short_notice`` is true when it was announced less
    than ``notice_days_required`` days before it opens: allowed, but the IRM needs to know."""

    event_type: ClassVar[str] = "ogp.consultation.consultation_scheduled.v1"
    key_field: ClassVar[str] = "plan_id"

    round_id: UUID
    plan_id: UUID
    member_id: UUID
    kind: RoundKind
    commitment_id: UUID | None = None
    title: str
    opens_at: datetime
    closes_at: datetime
    scheduled_at: datetime
    notice_days: float
    notice_days_required: int
    short_notice: bool


class ConsultationOpened(_ConsultationEvent):
    """The round started taking input (opened by the service at the set time)."""

    event_type: ClassVar[str] = "ogp.consultation.consultation_opened.v1"
    key_field: ClassVar[str] = "plan_id"

    round_id: UUID
    plan_id: UUID
    member_id: UUID
    kind: RoundKind
    opened_at: datetime
    closes_at: datetime


class ConsultationClosed(_ConsultationEvent):
    """The round stopped taking input: at its set time, or because the plan was submitted (then
    ``reason`` is ``plan_submitted``). A round cancelled before it opened also closes, with
    ``reason`` ``cancelled``."""

    event_type: ClassVar[str] = "ogp.consultation.consultation_closed.v1"
    key_field: ClassVar[str] = "plan_id"

    round_id: UUID
    plan_id: UUID
    member_id: UUID
    closed_at: datetime
    reason: str
    submissions: int
    comments: int


class ConsultationClosingSoon(_ConsultationEvent):
    """Timer: an open round closes within ``days_left`` days (sent once per round, two days
    before it closes), so that people who follow it can still take part."""

    event_type: ClassVar[str] = "ogp.consultation.consultation_closing_soon.v1"
    key_field: ClassVar[str] = "plan_id"

    round_id: UUID
    plan_id: UUID
    member_id: UUID
    title: str
    closes_at: datetime
    days_left: int
    detected_at: datetime


class OfflineEventRecorded(_ConsultationEvent):
    """A workshop, hearing or other in-person event of a round, with its participant count."""

    event_type: ClassVar[str] = "ogp.consultation.offline_event_recorded.v1"
    key_field: ClassVar[str] = "plan_id"

    offline_event_id: UUID
    round_id: UUID
    plan_id: UUID
    format: str
    held_on: date
    participants: int
    by_sector: dict[Sector, int] = Field(default_factory=dict)
    report_url: str | None = None


# --- inputs ----------------------------------------------------------------------------------


class SubmissionReceived(_ConsultationEvent):
    """An idea was submitted to a round. Neither its text nor its author is in the event."""

    event_type: ClassVar[str] = "ogp.consultation.submission_received.v1"
    key_field: ClassVar[str] = "plan_id"

    submission_id: UUID
    round_id: UUID
    plan_id: UUID
    #: What the input is about; a passage's section and quote are read from the public API.
    anchor_type: AnchorType
    commitment_id: UUID | None = None
    alignment: Alignment
    language: str
    received_at: datetime


class CommentAdded(_ConsultationEvent):
    """A comment was added to a round, possibly in reply to a submission or another comment."""

    event_type: ClassVar[str] = "ogp.consultation.comment_added.v1"
    key_field: ClassVar[str] = "plan_id"

    comment_id: UUID
    round_id: UUID
    plan_id: UUID
    parent_id: UUID | None = None
    anchor_type: AnchorType
    commitment_id: UUID | None = None
    alignment: Alignment
    language: str
    added_at: datetime


class CommentModerated(_ConsultationEvent):
    """A submission or comment was flagged, hidden or restored. ``public_reason`` is what the
    public sees in place of a hidden text; who acted is in the service's audit log only."""

    event_type: ClassVar[str] = "ogp.consultation.comment_moderated.v1"
    key_field: ClassVar[str] = "plan_id"

    input_id: UUID
    input_kind: InputKind
    round_id: UUID
    plan_id: UUID
    action: ModerationAction
    public_reason: str | None = None
    visible: bool
    moderated_at: datetime


# --- reasoned response (standard 4) ----------------------------------------------------------


class ResponsePublished(_ConsultationEvent):
    """The government answered one input or a cluster of them, with a decision and a rationale."""

    event_type: ClassVar[str] = "ogp.consultation.response_published.v1"
    key_field: ClassVar[str] = "plan_id"

    response_id: UUID
    round_id: UUID
    plan_id: UUID
    input_ids: list[UUID]
    decision: Decision
    rationale: str
    #: For ``merged``: the commitment the inputs were merged into, when there is one.
    merged_into_commitment_id: UUID | None = None
    published_at: datetime


class ResponseTablePublished(_ConsultationEvent):
    """The consolidated "comments and responses" table of a round is published. The plans
    service adds it to the plan's repository as a ``reasoned_response`` document."""

    event_type: ClassVar[str] = "ogp.consultation.response_table_published.v1"
    key_field: ClassVar[str] = "plan_id"

    table_id: UUID
    round_id: UUID
    plan_id: UUID
    member_id: UUID
    title: str
    csv_url: str
    json_url: str
    inputs: int
    answered: int
    published_at: datetime


# --- the participation report -----------------------------------------------------------------


class Breakdown(BaseModel):
    """Counts of unique participants by a self-declared attribute (``not_declared`` included)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    stakeholder_type: dict[str, int]
    region: dict[str, int]
    gender: dict[str, int]


class ParticipationReported(_ConsultationEvent):
    """Participation in one round (``scope`` = ``round``) or in a plan's whole co-creation cycle
    (``scope`` = ``cycle``), as the IRM needs it to assess the co-creation standards.

    ``response_coverage`` is answered / inputs needing an answer (visible submissions and
    comments by participants, not by officials); it is null when there was nothing to answer.
    ``median_response_hours`` is over the answered inputs."""

    event_type: ClassVar[str] = "ogp.consultation.participation_reported.v1"
    key_field: ClassVar[str] = "plan_id"

    report_id: UUID
    scope: str
    plan_id: UUID
    member_id: UUID
    round_id: UUID | None = None
    rounds: int
    short_notice_rounds: int
    submissions: int
    comments: int
    hidden: int
    unique_participants: int
    by: Breakdown
    offline_events: int
    offline_participants: int
    inputs_needing_response: int
    answered: int
    response_coverage: float | None
    median_response_hours: float | None
    forum_meetings: int
    implementation_meetings: int
    reported_at: datetime


# --- private: authors' contacts ----------------------------------------------------------------


class AuthorContactRegistered(Event):
    """PRIVATE: how the author of one input asked to hear of the government's reasoned response,
    for the notifications service only.

    Lives on a compacted, access-controlled topic keyed by the input id (one author per input);
    erasing the author is a tombstone on that key. Never part of the public catalog, and the
    public events never link an input to it.
    """

    event_type: ClassVar[str] = "sharaka.consultation.author_contact_registered.v1"
    topic: ClassVar[str] = topics.CONSULTATION_CONTACTS
    public: ClassVar[bool] = False
    key_field: ClassVar[str] = "input_id"

    input_id: UUID
    round_id: UUID
    plan_id: UUID
    name: str
    email: str | None = None
    phone: str | None = None
    language: str = "en"

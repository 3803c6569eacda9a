"""Contracts published by the plans service on ``ogp.plans.v1`` (keyed by plan or member id)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.events import topics
from shared.events.base import Event

#: Who made a change: a person's opaque id (a UUID derived from their token's subject,
#: the id every service uses for that person), or the name of the service or job that made it
#: (``irm``, ``consultation``, an import's recorded name). Never a token's subject itself.
_BY = (
    "who made the change: the person's opaque id (the same in every service), or the name of the "
    "service or job that made it; never a token subject"
)


class MemberKind(StrEnum):
    NATIONAL = "national"
    LOCAL = "local"
    PARLIAMENT = "parliament"


class PlanState(StrEnum):
    DRAFT = "draft"
    CO_CREATION = "co_creation"
    SUBMITTED = "submitted"
    IMPLEMENTING = "implementing"
    #: 4-year plans only: the midway window in which commitments may be revised.
    REFRESHING = "refreshing"
    ENDED = "ended"
    CLOSED = "closed"


class MemberStatus(StrEnum):
    PARTICIPATING = "participating"
    ACTED_CONTRARY_TO_PROCESS = "acted_contrary_to_process"
    UNDER_PROCEDURAL_REVIEW = "under_procedural_review"
    INACTIVE = "inactive"
    WITHDRAWN = "withdrawn"


class Strand(StrEnum):
    OPEN_GOVERNMENT = "open_government"
    OPEN_PARLIAMENT = "open_parliament"
    OPEN_JUSTICE = "open_justice"
    LOCAL = "local"


class Language(StrEnum):
    AR = "ar"
    EN = "en"
    ES = "es"
    FR = "fr"


class CommitmentState(StrEnum):
    DRAFTED = "drafted"
    IN_CONSULTATION = "in_consultation"
    ADOPTED = "adopted"
    IMPLEMENTING = "implementing"
    ENDED = "ended"
    WITHDRAWN = "withdrawn"


class MilestoneStatus(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    DELAYED = "delayed"
    CANCELLED = "cancelled"


class SelfAssessedCompletion(StrEnum):
    NOT_STARTED = "not_started"
    LIMITED = "limited"
    SUBSTANTIAL = "substantial"
    COMPLETED = "completed"


class DocumentType(StrEnum):
    MINUTES = "minutes"
    DRAFT = "draft"
    ACTION_PLAN = "action_plan"
    REASONED_RESPONSE = "reasoned_response"
    SELF_ASSESSMENT = "self_assessment"
    EVIDENCE = "evidence"
    IRM_REPORT = "irm_report"
    OTHER = "other"


#: Text in several languages, e.g. ``{"en": "...", "fr": "..."}``.
LocalizedText = dict[Language, str]


class OgpValues(BaseModel):
    """Relevance to OGP's values. Technology and innovation counts only on top of another value."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    access_to_information: bool = False
    civic_participation: bool = False
    public_accountability: bool = False
    technology_innovation: bool = False


class CommitmentSnapshot(BaseModel):
    """The public state of a commitment after a change: subscribers need no other call."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    commitment_id: UUID
    plan_id: UUID
    member_id: UUID
    number: int
    state: CommitmentState
    original_language: Language
    title: LocalizedText
    texts: dict[str, LocalizedText] = Field(
        default_factory=dict,
        description="problem, baseline, status_quo, objective, how_it_solves, ambition",
    )
    start_date: date | None = None
    end_date: date | None = None
    lead_agency: str | None = None
    responsible_person: str | None = Field(default=None, description="name and title as published")
    supporting_government: list[str] = Field(default_factory=list)
    supporting_other: list[str] = Field(default_factory=list)
    values: OgpValues = Field(default_factory=OgpValues)
    policy_areas: list[str] = Field(default_factory=list)
    budget_amount: float | None = None
    budget_currency: str | None = None
    sdg_targets: list[str] = Field(default_factory=list)
    other_plan_links: list[str] = Field(default_factory=list)
    progress: float = Field(default=0, description="weighted milestone progress, 0-100")
    version: int


class _PlansEvent(Event):
    topic: ClassVar[str] = topics.PLANS


class MemberCreated(_PlansEvent):
    """A government (national, local or parliament) joined the platform."""

    event_type: ClassVar[str] = "ogp.plans.member_created.v1"
    key_field: ClassVar[str] = "member_id"

    member_id: UUID
    name: str
    kind: MemberKind
    country_code: str | None = Field(default=None, description="ISO 3166-1 alpha-2")
    created_at: datetime


class PlanCreated(_PlansEvent):
    """A draft action plan exists. Consultation opens a co-creation space for it."""

    event_type: ClassVar[str] = "ogp.plans.plan_created.v1"
    key_field: ClassVar[str] = "plan_id"

    plan_id: UUID
    member_id: UUID
    title: str
    start_date: date
    end_date: date
    #: Opaque reference to the plan's point of contact; the details are personal data and never
    #: travel on a public topic.
    point_of_contact_id: UUID
    created_at: datetime


class PlanStateChanged(_PlansEvent):
    """Any allowed transition of a plan's state machine (including those with their own event)."""

    event_type: ClassVar[str] = "ogp.plans.plan_state_changed.v1"
    key_field: ClassVar[str] = "plan_id"

    plan_id: UUID
    member_id: UUID
    from_state: PlanState
    to_state: PlanState
    changed_at: datetime
    changed_by: str = Field(description=_BY)


class CommitmentAdded(_PlansEvent):
    """A commitment was added to a plan; consultation opens a space to comment on it."""

    event_type: ClassVar[str] = "ogp.plans.commitment_added.v1"
    key_field: ClassVar[str] = "plan_id"

    plan_id: UUID
    commitment_id: UUID
    member_id: UUID
    number: int
    title: str = Field(description="title in the original language")
    added_at: datetime
    commitment: CommitmentSnapshot | None = None


class PlanSubmitted(_PlansEvent):
    """The plan was published as submitted: co-creation closes and the IRM's Action Plan Review
    clock starts (due four months later)."""

    event_type: ClassVar[str] = "ogp.plans.plan_submitted.v1"
    key_field: ClassVar[str] = "plan_id"

    plan_id: UUID
    member_id: UUID
    title: str
    start_date: date
    end_date: date
    commitment_count: int
    point_of_contact_id: UUID
    submitted_at: datetime


class ContactRegistered(Event):
    """PRIVATE: the contact details of a point of contact, for the notifications service only.

    Lives on a compacted, access-controlled topic keyed by contact id; erasing a person is a
    tombstone on that key. Never part of the public catalog.
    """

    event_type: ClassVar[str] = "sharaka.plans.contact_registered.v1"
    topic: ClassVar[str] = topics.PLANS_CONTACTS
    public: ClassVar[bool] = False
    key_field: ClassVar[str] = "contact_id"

    contact_id: UUID
    name: str
    email: str | None = None
    phone: str | None = None
    language: str = "en"


class MemberStatusChanged(_PlansEvent):
    """A member's standing in OGP changed (from an IRM finding or a staff decision)."""

    event_type: ClassVar[str] = "ogp.plans.member_status_changed.v1"
    key_field: ClassVar[str] = "member_id"

    member_id: UUID
    from_status: MemberStatus
    to_status: MemberStatus
    reason: str
    plan_id: UUID | None = Field(default=None, description="the cycle concerned, if any")
    changed_at: datetime
    source: str = Field(description="staff, or the event type that caused it")


class EligibilityScored(_PlansEvent):
    """A member's core eligibility for a year was computed from its indicator values."""

    event_type: ClassVar[str] = "ogp.plans.eligibility_scored.v1"
    key_field: ClassVar[str] = "member_id"

    member_id: UUID
    year: int
    status: str = Field(description="eligible, not_eligible or not_enough_data")
    points: int
    possible: int
    percentage: float | None
    values_check_applies: bool
    values_check_passed: bool | None
    rules_version: str
    scored_at: datetime


class PlanImplementationStarted(_PlansEvent):
    """The submitted plan entered implementation; its commitments are now implementing."""

    event_type: ClassVar[str] = "ogp.plans.plan_implementation_started.v1"
    key_field: ClassVar[str] = "plan_id"

    plan_id: UUID
    member_id: UUID
    started_at: datetime


class PlanEnded(_PlansEvent):
    """The plan's implementation period is over. OGP's results report is due four months after
    the plan's end; the IRM service does not schedule it from this event yet."""

    event_type: ClassVar[str] = "ogp.plans.plan_ended.v1"
    key_field: ClassVar[str] = "plan_id"

    plan_id: UUID
    member_id: UUID
    end_date: date
    ended_at: datetime


class _CommitmentChange(_PlansEvent):
    key_field: ClassVar[str] = "plan_id"

    plan_id: UUID
    commitment_id: UUID
    member_id: UUID
    changed_at: datetime
    changed_by: str = Field(description=_BY)
    commitment: CommitmentSnapshot


class CommitmentUpdated(_CommitmentChange):
    """Fields of a commitment changed; ``changed_fields`` names them, the snapshot has the values."""

    event_type: ClassVar[str] = "ogp.plans.commitment_updated.v1"
    changed_fields: list[str]


class CommitmentAdopted(_CommitmentChange):
    """The commitment is part of the submitted plan."""

    event_type: ClassVar[str] = "ogp.plans.commitment_adopted.v1"


class CommitmentWithdrawn(_CommitmentChange):
    """The commitment was dropped, with a public reason; it no longer counts in progress."""

    event_type: ClassVar[str] = "ogp.plans.commitment_withdrawn.v1"
    reason: str


class CommitmentStateChanged(_CommitmentChange):
    """Any allowed transition of a commitment's state machine."""

    event_type: ClassVar[str] = "ogp.plans.commitment_state_changed.v1"
    from_state: CommitmentState
    to_state: CommitmentState


class EvidenceLink(BaseModel):
    """A public link that supports a progress report or self-assessment."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    url: str
    title: str | None = None


class _MilestoneEvent(_PlansEvent):
    key_field: ClassVar[str] = "plan_id"

    plan_id: UUID
    commitment_id: UUID
    milestone_id: UUID
    member_id: UUID
    number: int


class MilestoneAdded(_MilestoneEvent):
    """A verifiable deliverable (with dates and a weight for the roll-up) was added to a commitment."""

    event_type: ClassVar[str] = "ogp.plans.milestone_added.v1"
    title: LocalizedText
    start_date: date | None
    end_date: date | None
    weight: float
    added_at: datetime


class MilestoneProgressUpdated(_MilestoneEvent):
    """A progress report on a milestone, with its evidence; carries the rolled-up progress."""

    event_type: ClassVar[str] = "ogp.plans.milestone_progress_updated.v1"
    status: MilestoneStatus
    progress: int
    evidence: list[EvidenceLink] = Field(default_factory=list)
    commitment_progress: float
    plan_progress: float
    updated_at: datetime
    updated_by: str = Field(description=_BY)


class MilestoneCompleted(_MilestoneEvent):
    """The milestone was reported completed, with its evidence."""

    event_type: ClassVar[str] = "ogp.plans.milestone_completed.v1"
    completed_at: datetime
    evidence: list[EvidenceLink] = Field(default_factory=list)


class MilestoneDelayed(_MilestoneEvent):
    """The milestone was reported delayed (the new end date, if known, is given)."""

    event_type: ClassVar[str] = "ogp.plans.milestone_delayed.v1"
    end_date: date | None
    delayed_at: datetime


class MilestoneCancelled(_MilestoneEvent):
    """The milestone was cancelled; it no longer counts in the roll-up."""

    event_type: ClassVar[str] = "ogp.plans.milestone_cancelled.v1"
    cancelled_at: datetime


class MilestoneOverdue(_MilestoneEvent):
    """Timer: the milestone's end date passed and it is not completed (emitted once per end date)."""

    event_type: ClassVar[str] = "ogp.plans.milestone_overdue.v1"
    end_date: date
    detected_at: datetime


class SelfAssessmentRecorded(_PlansEvent):
    """The government's end-of-term self-assessment of one commitment."""

    event_type: ClassVar[str] = "ogp.plans.self_assessment_recorded.v1"
    key_field: ClassVar[str] = "plan_id"

    plan_id: UUID
    commitment_id: UUID
    member_id: UUID
    completion: SelfAssessedCompletion
    evidence: list[EvidenceLink] = Field(default_factory=list)
    recorded_at: datetime


class DocumentPublished(_PlansEvent):
    """A document was added to the plan's public repository (co-creation standard 2)."""

    event_type: ClassVar[str] = "ogp.plans.document_published.v1"
    key_field: ClassVar[str] = "plan_id"

    document_id: UUID
    plan_id: UUID
    member_id: UUID
    type: DocumentType
    title: str
    url: str
    language: Language
    published_on: date
    published_at: datetime


class NextPlanOverdue(_PlansEvent):
    """Timer: twelve months after the previous plan ended, the member has no new plan."""

    event_type: ClassVar[str] = "ogp.plans.next_plan_overdue.v1"
    key_field: ClassVar[str] = "member_id"

    member_id: UUID
    previous_plan_id: UUID
    previous_end_date: date
    due_date: date
    detected_at: datetime


class RepositoryStale(_PlansEvent):
    """Timer: the plan's document repository was not updated twice within a year."""

    event_type: ClassVar[str] = "ogp.plans.repository_stale.v1"
    key_field: ClassVar[str] = "plan_id"

    plan_id: UUID
    member_id: UUID
    period_start: date
    period_end: date
    updates_in_period: int
    detected_at: datetime

"""Contracts published by the IRM service on ``ogp.irm.v1`` (keyed by plan id)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.events import topics
from shared.events.base import Event


class ReviewKind(StrEnum):
    CO_CREATION_BRIEF = "co_creation_brief"
    ACTION_PLAN_REVIEW = "action_plan_review"
    MIDTERM_REVIEW = "midterm_review"
    RESULTS_REPORT = "results_report"


class ReviewState(StrEnum):
    """An IRM product's life: the researcher drafts, the government and the forum see the draft
    first (pre-publication review), then anyone (public comment), then it is published."""

    SCHEDULED = "scheduled"
    RESEARCHING = "researching"
    DRAFT = "draft"
    PRE_PUBLICATION = "pre_publication"
    PUBLIC_COMMENT = "public_comment"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


class ReviewScheduled(Event):
    """The IRM opened a review of a plan and set its due date."""

    event_type: ClassVar[str] = "ogp.irm.review_scheduled.v1"
    topic: ClassVar[str] = topics.IRM
    key_field: ClassVar[str] = "plan_id"

    review_id: UUID
    plan_id: UUID
    member_id: UUID
    kind: ReviewKind
    due_date: date
    scheduled_at: datetime


class _IrmEvent(Event):
    topic: ClassVar[str] = topics.IRM


class _ReviewEvent(_IrmEvent):
    key_field: ClassVar[str] = "plan_id"

    review_id: UUID
    plan_id: UUID
    member_id: UUID
    kind: ReviewKind


class ResearcherAssigned(_ReviewEvent):
    """IRM staff assigned an independent researcher to the review (research starts). The
    researcher is named by an opaque id; who they are is not public data of the event."""

    event_type: ClassVar[str] = "ogp.irm.researcher_assigned.v1"

    researcher_id: UUID
    assigned_at: datetime


class ReviewStateChanged(_ReviewEvent):
    """The review moved in its life cycle (by the researcher, IRM staff or its own timer)."""

    event_type: ClassVar[str] = "ogp.irm.review_state_changed.v1"

    from_state: ReviewState
    to_state: ReviewState
    changed_at: datetime
    #: The last day comments are taken in the state entered (pre-publication or public comment).
    comments_until: date | None = None


class ReviewDraftPublished(_ReviewEvent):
    """The draft is open for public comment until ``comments_until`` (inclusive)."""

    event_type: ClassVar[str] = "ogp.irm.review_draft_published.v1"

    draft_url: str | None = None
    comments_until: date
    published_at: datetime


class ReviewCommentReceived(_ReviewEvent):
    """A comment on a draft was recorded (its text is read from the IRM's API, never the event)."""

    event_type: ClassVar[str] = "ogp.irm.review_comment_received.v1"

    comment_id: UUID
    phase: ReviewState
    received_at: datetime


class ReviewPublished(_ReviewEvent):
    """The final report is public; the plans service files it in the plan's repository."""

    event_type: ClassVar[str] = "ogp.irm.review_published.v1"

    title: str
    url: str
    published_on: date
    published_at: datetime
    comments_received: int = 0


class ReviewWithdrawn(_ReviewEvent):
    event_type: ClassVar[str] = "ogp.irm.review_withdrawn.v1"

    reason: str
    withdrawn_at: datetime


class ReviewDueSoon(_ReviewEvent):
    """Timer: the review is due in ``days_left`` days and not published yet (a reminder)."""

    event_type: ClassVar[str] = "ogp.irm.review_due_soon.v1"

    due_date: date
    days_left: int
    state: ReviewState
    detected_at: datetime


class ReviewOverdue(_ReviewEvent):
    """Timer: the due date passed and the review is not published."""

    event_type: ClassVar[str] = "ogp.irm.review_overdue.v1"

    due_date: date
    state: ReviewState
    detected_at: datetime


class Relevance(BaseModel):
    """The open-government lens, per value."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    access_to_information: bool | None = None
    civic_participation: bool | None = None
    public_accountability: bool | None = None
    technology_innovation: bool | None = None


class CommitmentAssessed(_IrmEvent):
    """The IRM's coding of one commitment. Values are labels of the scale named by
    ``scale_version`` (OGP changed its scales; old assessments keep their old labels)."""

    event_type: ClassVar[str] = "ogp.irm.commitment_assessed.v1"
    key_field: ClassVar[str] = "plan_id"

    review_id: UUID | None = None
    plan_id: UUID
    commitment_id: UUID
    member_id: UUID
    product: ReviewKind
    scale_version: str = Field(description="e.g. irm-2021 or legacy-2014")
    verifiable: bool | None = None
    specificity: str | None = Field(default=None, description="legacy: none/low/medium/high")
    relevance: Relevance = Field(default_factory=Relevance)
    potential_for_results: str | None = Field(default=None, description="unclear/modest/substantial")
    potential_impact: str | None = Field(
        default=None, description="legacy: none/minor/moderate/transformative"
    )
    promising: bool | None = None
    completion: str | None = Field(
        default=None, description="no_evidence/not_started/limited/substantial/complete"
    )
    early_results: str | None = None
    did_it_open_government: str | None = Field(default=None, description="legacy")
    assessed_at: datetime
    star: bool | None = Field(default=None, description="legacy star commitment, by the report year's rule")
    report_year: int | None = None
    completion_reason: str | None = Field(
        default=None, description="why the researcher changed the completion pre-filled from plans' data"
    )


class ComplianceStatus(StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    NOT_ENOUGH_EVIDENCE = "not_enough_evidence"


class RequirementFinding(BaseModel):
    """One minimum requirement of one participation and co-creation standard, as the IRM judged it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    standard: int = Field(ge=1, le=5)
    requirement: str
    status: ComplianceStatus
    evidence: list[str] = Field(default_factory=list, description="event ids, dates and figures")
    overridden: bool = False
    reason: str | None = None


class ComplianceAssessed(_IrmEvent):
    """The published review fixed the plan's compliance with the co-creation standards."""

    event_type: ClassVar[str] = "ogp.irm.compliance_assessed.v1"
    key_field: ClassVar[str] = "plan_id"

    review_id: UUID
    plan_id: UUID
    member_id: UUID
    product: ReviewKind
    requirements: list[RequirementFinding]
    minimum_met: bool
    assessed_at: datetime


class ActedContraryToProcess(_IrmEvent):
    """OGP found the member acted contrary to process in a cycle."""

    event_type: ClassVar[str] = "ogp.irm.acted_contrary_to_process.v1"
    key_field: ClassVar[str] = "member_id"

    member_id: UUID
    plan_id: UUID | None = None
    reason: str = Field(description="no_new_plan, co_creation_minimum_not_met or no_progress")
    found_at: datetime
    finding_id: UUID | None = None
    cycle: str | None = Field(default=None, description="the action plan cycle the finding is about")


class ProceduralReviewStarted(_IrmEvent):
    """The member is placed under procedural review (e.g. two consecutive contrary cycles)."""

    event_type: ClassVar[str] = "ogp.irm.procedural_review_started.v1"
    key_field: ClassVar[str] = "member_id"

    member_id: UUID
    reason: str
    started_at: datetime
    finding_ids: list[UUID] = Field(default_factory=list, description="the two consecutive findings")
    procedural_review_id: UUID | None = None


class ProceduralReviewLifted(_IrmEvent):
    """The member fixed the cause and participates again."""

    event_type: ClassVar[str] = "ogp.irm.procedural_review_lifted.v1"
    key_field: ClassVar[str] = "member_id"

    member_id: UUID
    lifted_at: datetime
    reason: str | None = None
    procedural_review_id: UUID | None = None

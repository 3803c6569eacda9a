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


class ActedContraryToProcess(_IrmEvent):
    """OGP found the member acted contrary to process in a cycle."""

    event_type: ClassVar[str] = "ogp.irm.acted_contrary_to_process.v1"
    key_field: ClassVar[str] = "member_id"

    member_id: UUID
    plan_id: UUID | None = None
    reason: str = Field(description="no_new_plan, co_creation_minimum_not_met or no_progress")
    found_at: datetime


class ProceduralReviewStarted(_IrmEvent):
    """The member is placed under procedural review (e.g. two consecutive contrary cycles)."""

    event_type: ClassVar[str] = "ogp.irm.procedural_review_started.v1"
    key_field: ClassVar[str] = "member_id"

    member_id: UUID
    reason: str
    started_at: datetime


class ProceduralReviewLifted(_IrmEvent):
    """The member fixed the cause and participates again."""

    event_type: ClassVar[str] = "ogp.irm.procedural_review_lifted.v1"
    key_field: ClassVar[str] = "member_id"

    member_id: UUID
    lifted_at: datetime

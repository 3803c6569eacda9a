"""Contracts published by the IRM service on ``ogp.irm.v1`` (keyed by plan id)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar
from uuid import UUID

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

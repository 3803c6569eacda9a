"""Contracts published by the plans service on ``ogp.plans.v1`` (keyed by plan or member id)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from shared.events import topics
from shared.events.base import Event


class MemberKind(StrEnum):
    NATIONAL = "national"
    LOCAL = "local"
    PARLIAMENT = "parliament"


class PlanState(StrEnum):
    DRAFT = "draft"
    CO_CREATION = "co_creation"
    SUBMITTED = "submitted"
    IMPLEMENTING = "implementing"
    ENDED = "ended"
    CLOSED = "closed"


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
    changed_by: str = Field(description="subject of the token that made the change")


class CommitmentAdded(_PlansEvent):
    """A commitment was added to a plan; consultation opens a space to comment on it."""

    event_type: ClassVar[str] = "ogp.plans.commitment_added.v1"
    key_field: ClassVar[str] = "plan_id"

    plan_id: UUID
    commitment_id: UUID
    member_id: UUID
    number: int
    title: str
    added_at: datetime


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

"""Who is told what: the kinds of event people hear about, the scopes they can follow them in, the
built-in rules for roles, and how one person's copy of one event is routed (now, by channel, or
into their next digest).

A :class:`Trigger` is what a reaction makes of another service's event: its kind (which is also the
message template), the things it is about (member, plan, commitment, round, review), the values the
message shows, and who must hear of it whatever they follow (a plan's point of contact, the
assigned researcher, an input's author, people with a role).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from services.notifications.domain.deliveries import Delivery
from services.notifications.domain.recipients import DigestMode, Recipient
from shared.errors import Invalid
from shared.events.notifications import Channel


class ScopeType(StrEnum):
    MEMBER = "member"
    PLAN = "plan"
    COMMITMENT = "commitment"
    ROUND = "round"
    REVIEW = "review"


class Direct(StrEnum):
    """Addressees fixed by the built-in rules, resolved from what the service learnt."""

    PLAN_CONTACT = "plan_contact"  # the plan's point of contact
    MEMBER_CONTACT = "member_contact"  # the point of contact of the member's latest plan
    RESEARCHER = "researcher"  # the IRM researcher assigned to the review


_M, _P, _C, _R, _V = ScopeType.MEMBER, ScopeType.PLAN, ScopeType.COMMITMENT, ScopeType.ROUND, ScopeType.REVIEW

#: Kinds a person can follow, and the scopes in which each exists.
FOLLOWABLE: Mapping[str, frozenset[ScopeType]] = {
    "plan_submitted": frozenset({_M, _P}),
    "review_scheduled": frozenset({_M, _P, _V}),
    "review_draft_open": frozenset({_M, _P, _V}),
    "review_published": frozenset({_M, _P, _V}),
    "review_overdue": frozenset({_M, _P, _V}),
    "consultation_scheduled": frozenset({_M, _P, _R}),
    "consultation_opened": frozenset({_M, _P, _R}),
    "consultation_closing_soon": frozenset({_M, _P, _R}),
    "consultation_closed": frozenset({_M, _P, _R}),
    "milestone_overdue": frozenset({_M, _P, _C}),
    "forum_meeting_overdue": frozenset({_M}),
    "next_plan_overdue": frozenset({_M}),
    "repository_stale": frozenset({_M, _P}),
}

#: Built-in rules: who hears of a kind without following anything.
DIRECT: Mapping[str, frozenset[Direct]] = {
    "plan_submitted": frozenset({Direct.PLAN_CONTACT}),
    "review_scheduled": frozenset({Direct.PLAN_CONTACT}),
    "review_draft_open": frozenset({Direct.PLAN_CONTACT}),
    "review_published": frozenset({Direct.PLAN_CONTACT}),
    "review_overdue": frozenset({Direct.PLAN_CONTACT, Direct.RESEARCHER}),
    "review_assigned": frozenset({Direct.RESEARCHER}),
    "review_due_soon": frozenset({Direct.RESEARCHER}),
    "consultation_short_notice": frozenset({Direct.PLAN_CONTACT}),
    "consultation_closed": frozenset({Direct.PLAN_CONTACT}),
    "milestone_overdue": frozenset({Direct.PLAN_CONTACT}),
    "repository_stale": frozenset({Direct.PLAN_CONTACT}),
    "forum_meeting_overdue": frozenset({Direct.MEMBER_CONTACT}),
    "next_plan_overdue": frozenset({Direct.PLAN_CONTACT}),
}

#: Built-in rules by role: staff hear of everything overdue and of failed deliveries, the IRM of
#: overdue reviews, moderators of flagged inputs.
ROLES: Mapping[str, frozenset[str]] = {
    "review_overdue": frozenset({"staff", "irm"}),
    "milestone_overdue": frozenset({"staff"}),
    "forum_meeting_overdue": frozenset({"staff"}),
    "next_plan_overdue": frozenset({"staff"}),
    "repository_stale": frozenset({"staff"}),
    "delivery_failed": frozenset({"staff"}),
    "input_flagged": frozenset({"moderator"}),
}


def check_follow(scope_type: ScopeType, kinds: frozenset[str]) -> frozenset[str]:
    """The kinds a subscription in ``scope_type`` may name (422 naming ``kinds`` otherwise); an
    empty set means every kind the scope has."""
    for kind in kinds:
        if kind not in FOLLOWABLE:
            raise Invalid("kinds", f"unknown kind of event {kind!r}; see GET /v1/kinds")
        if scope_type not in FOLLOWABLE[kind]:
            raise Invalid("kinds", f"{kind!r} cannot be followed on a {scope_type.value}")
    return kinds


@dataclass(frozen=True, slots=True)
class Trigger:
    """One event someone must hear about."""

    kind: str
    cause_event_id: UUID
    at: datetime
    scopes: Mapping[ScopeType, UUID] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    #: Recipients named by the event itself (e.g. the authors of the inputs a response answers).
    recipient_ids: tuple[UUID, ...] = ()

    @property
    def plan_id(self) -> UUID | None:
        return self.scopes.get(ScopeType.PLAN)

    @property
    def direct(self) -> frozenset[Direct]:
        return DIRECT.get(self.kind, frozenset())

    @property
    def roles(self) -> frozenset[str]:
        return ROLES.get(self.kind, frozenset())

    @property
    def followable(self) -> bool:
        return self.kind in FOLLOWABLE


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One event held for a person's next digest."""

    recipient_id: UUID
    cause_event_id: UUID
    template: str
    params: Mapping[str, str]
    at: datetime


def route(trigger: Trigger, recipient_id: UUID, recipient: Recipient | None) -> list[Delivery | DigestItem]:
    """What one person gets for one trigger.

    * Not known yet (a point of contact whose details are still on their way): one e-mail, whose
      addressee is resolved when it is sent.
    * A public follower who has not confirmed: nothing (they get only the confirmation).
    * Daily or weekly digest chosen: the event is held for the next digest.
    * Otherwise one message per channel they want, have an address for and did not opt out of.
    """
    params = dict(trigger.params)
    plan_id = trigger.plan_id
    if recipient is None:
        return [Delivery.queue(cause_event_id=trigger.cause_event_id, template=trigger.kind,
                               recipient_id=recipient_id, plan_id=plan_id, params=params)]  # fmt: skip
    if not recipient.confirmed:
        return []
    if recipient.digest is not DigestMode.IMMEDIATE:
        return [DigestItem(recipient.id, trigger.cause_event_id, trigger.kind, params, trigger.at)]
    return [
        Delivery.queue(
            cause_event_id=trigger.cause_event_id,
            template=trigger.kind,
            channel=channel,
            recipient_id=recipient.id,
            plan_id=plan_id,
            params=params,
        )
        for channel in (Channel.EMAIL, Channel.SMS)
        if recipient.reachable_on(channel)
    ]

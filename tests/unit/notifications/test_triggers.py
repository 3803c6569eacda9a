"""Who is told what: what one person gets for one event, what can be followed where, and a
subscription asked for again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from services.notifications.domain.deliveries import Delivery
from services.notifications.domain.recipients import DigestMode, Recipient
from services.notifications.domain.subscriptions import Subscription
from services.notifications.domain.triggers import (
    DigestItem,
    Direct,
    ScopeType,
    Trigger,
    check_follow,
    route,
)
from shared.errors import Invalid
from shared.events.notifications import Channel

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
PLAN, MEMBER = uuid4(), uuid4()
TRIGGER = Trigger(
    "plan_submitted", uuid4(), NOW, {ScopeType.MEMBER: MEMBER, ScopeType.PLAN: PLAN},
    {"plan_title": "Open justice plan", "submitted_on": "2025-03-01"},
)  # fmt: skip


def _person(**kw: object) -> Recipient:
    values: dict[str, object] = {"email": "n@example.org", "phone": "+21620123456", "confirmed_at": NOW} | kw
    return Recipient(uuid4(), "Nadia", **values)  # type: ignore[arg-type]


def _channels(items: list[Delivery | DigestItem]) -> list[Channel]:
    return [i.channel for i in items if isinstance(i, Delivery)]


# --- route --------------------------------------------------------------------------------------
def test_someone_not_known_yet_gets_one_email_resolved_when_sent() -> None:
    rid = uuid4()
    [d] = route(TRIGGER, rid, None)
    assert isinstance(d, Delivery)
    assert (d.recipient_id, d.plan_id, d.channel, d.template, d.cause_event_id) == (
        rid, PLAN, Channel.EMAIL, "plan_submitted", TRIGGER.cause_event_id,
    )  # fmt: skip
    assert d.params == dict(TRIGGER.params)


def test_an_unconfirmed_follower_gets_nothing() -> None:
    assert route(TRIGGER, uuid4(), _person(confirmed_at=None)) == []


@pytest.mark.parametrize("mode", [DigestMode.DAILY, DigestMode.WEEKLY])
def test_a_digest_reader_has_the_event_held(mode: DigestMode) -> None:
    person = _person(digest=mode)
    assert route(TRIGGER, person.id, person) == [
        DigestItem(person.id, TRIGGER.cause_event_id, "plan_submitted", dict(TRIGGER.params), NOW)
    ]


def test_one_message_per_channel_wanted() -> None:
    person = _person()
    items = route(TRIGGER, person.id, person)
    assert _channels(items) == [Channel.EMAIL, Channel.SMS]
    assert all(isinstance(i, Delivery) and i.recipient_id == person.id for i in items)
    assert len({i.id for i in items if isinstance(i, Delivery)}) == 2


@pytest.mark.parametrize(
    ("person", "channels"),
    [
        (_person(channels=frozenset({Channel.SMS})), [Channel.SMS]),
        (_person(phone=None), [Channel.EMAIL]),
        (_person(email=None), [Channel.SMS]),
        (_person(sms_opt_out_at=NOW), [Channel.EMAIL]),
        (_person(email_opt_out_at=NOW), [Channel.SMS]),
        (_person(email_opt_out_at=NOW, sms_opt_out_at=NOW), []),
        (_person(email_opt_out_at=NOW, channels=frozenset({Channel.EMAIL})), []),
    ],
)
def test_channels_without_an_address_or_opted_out_are_left_out(
    person: Recipient, channels: list[Channel]
) -> None:
    assert _channels(route(TRIGGER, person.id, person)) == channels


# --- the trigger's rules ------------------------------------------------------------------------
def test_a_trigger_knows_its_built_in_addressees() -> None:
    overdue = Trigger("review_overdue", uuid4(), NOW, {ScopeType.PLAN: PLAN})
    assert overdue.direct == {Direct.PLAN_CONTACT, Direct.RESEARCHER}
    assert overdue.roles == {"staff", "irm"}
    assert overdue.followable and overdue.plan_id == PLAN
    flagged = Trigger("input_flagged", uuid4(), NOW)
    assert (flagged.direct, flagged.roles, flagged.followable, flagged.plan_id) == (
        frozenset(), frozenset({"moderator"}), False, None,
    )  # fmt: skip


# --- following ----------------------------------------------------------------------------------
def test_what_can_be_followed_where() -> None:
    assert check_follow(ScopeType.PLAN, frozenset({"plan_submitted"})) == {"plan_submitted"}
    assert check_follow(ScopeType.REVIEW, frozenset()) == frozenset()  # every kind the scope has


@pytest.mark.parametrize(
    ("scope", "kinds"),
    [
        (ScopeType.PLAN, {"no_such_kind"}),
        (ScopeType.PLAN, {"review_assigned"}),  # researchers hear of it by rule, nobody follows it
        (ScopeType.PLAN, {"next_plan_overdue"}),  # a member's, not a plan's
        (ScopeType.ROUND, {"consultation_opened", "milestone_overdue"}),  # one bad kind is enough
    ],
)
def test_a_kind_unknown_or_not_in_the_scope_is_refused(scope: ScopeType, kinds: set[str]) -> None:
    with pytest.raises(Invalid) as err:
        check_follow(scope, frozenset(kinds))
    assert err.value.errors[0][0] == "kinds"


def test_a_subscription_is_checked_when_made() -> None:
    with pytest.raises(Invalid):
        Subscription.new(
            uuid4(), ScopeType.COMMITMENT, uuid4(), frozenset({"plan_submitted"}), NOW, confirmed=True
        )


def test_asking_again_for_the_same_is_the_same_subscription() -> None:
    rid, scope = uuid4(), uuid4()
    kinds = frozenset({"plan_submitted"})
    first = Subscription.new(rid, ScopeType.PLAN, scope, kinds, NOW, confirmed=True)
    again = Subscription.new(rid, ScopeType.PLAN, scope, kinds, NOW + timedelta(days=1), confirmed=False)
    assert first.same_as(again) and first.id != again.id
    assert not first.same_as(Subscription.new(rid, ScopeType.PLAN, scope, frozenset(), NOW, confirmed=True))
    assert not first.same_as(Subscription.new(rid, ScopeType.MEMBER, scope, kinds, NOW, confirmed=True))
    assert not first.same_as(Subscription.new(uuid4(), ScopeType.PLAN, scope, kinds, NOW, confirmed=True))
    assert first.scope == f"plan:{scope}"


def test_a_subscription_is_confirmed_once() -> None:
    s = Subscription.new(uuid4(), ScopeType.MEMBER, uuid4(), frozenset(), NOW, confirmed=False)
    assert s.confirmed_at is None
    assert s.confirm(NOW)
    assert not s.confirm(NOW + timedelta(hours=1))  # a second click changes nothing
    assert s.confirmed_at == NOW
    assert (
        Subscription.new(uuid4(), ScopeType.MEMBER, uuid4(), frozenset(), NOW, confirmed=True).confirmed_at
        == NOW
    )

"""Learning, fan-out and the delivery queue's use cases against the in-memory unit of work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from services.notifications.domain.deliveries import (
    NO_EMAIL_ADDRESS,
    RECIPIENT_ERASED,
    Delivery,
    DeliveryStatus,
    Problem,
    RetryPolicy,
)
from services.notifications.domain.recipients import DigestMode, PlanContact, Recipient, RecipientKind
from services.notifications.domain.subscriptions import Subscription
from services.notifications.domain.triggers import ScopeType, Trigger
from services.notifications.use_cases import fan_out, learning, sending
from shared.events.notifications import DeliveryFailed, DeliverySent
from tests.fakes.notifications import FakeNotificationsUnitOfWork

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)
POLICY = RetryPolicy(max_attempts=3, backoff_initial_s=1.0)
M, P, R = ScopeType.MEMBER, ScopeType.PLAN, ScopeType.ROUND


def _claim_due(now: datetime = NOW, limit: int = 20) -> sending.ClaimDue:
    return sending.ClaimDue(now=now, limit=limit, lease=LEASE)


async def _person(uow: FakeNotificationsUnitOfWork, **kw: object) -> Recipient:
    values: dict[str, object] = {"email": f"{uuid4().hex[:8]}@example.org", "language": "fr"} | kw
    r = Recipient(uuid4(), "Nadia", **values)  # type: ignore[arg-type]
    return await learning.learn_recipient(uow, learning.LearnRecipient(r))


async def _queued(uow: FakeNotificationsUnitOfWork, recipient_id: UUID | None = None) -> Delivery:
    d = Delivery.queue(cause_event_id=uuid4(), template="plan_submitted", recipient_id=recipient_id or uuid4(),
                       params={"plan_title": "Open justice plan", "submitted_on": "2025-03-01"})  # fmt: skip
    assert await uow.deliveries.add(d)
    return d


async def _follow(uow: FakeNotificationsUnitOfWork, who: UUID, scope: ScopeType, scope_id: UUID,
                  kinds: frozenset[str] = frozenset(), *, confirmed: bool = True) -> None:  # fmt: skip
    await uow.subscriptions.save(Subscription.new(who, scope, scope_id, kinds, NOW, confirmed=confirmed))


# --- learning -----------------------------------------------------------------------------------
async def test_a_learnt_recipient_is_confirmed_in_a_language_we_write() -> None:
    uow = FakeNotificationsUnitOfWork()
    r = await _person(uow, language="de")
    stored = uow.tables.recipients[r.id]
    assert (stored.language, stored.confirmed) == ("en", True)
    assert uow.events == []


async def test_relearning_changes_the_details_and_keeps_the_choices() -> None:
    uow = FakeNotificationsUnitOfWork()
    r = await _person(uow)
    chosen = uow.tables.recipients[r.id]
    chosen.digest, chosen.sms_opt_out_at = DigestMode.WEEKLY, NOW
    await learning.learn_recipient(
        uow, learning.LearnRecipient(Recipient(r.id, "Nadia B.", email=None, language="ar"))
    )
    stored = uow.tables.recipients[r.id]
    assert (stored.name, stored.email, stored.language) == ("Nadia B.", None, "ar")
    assert (stored.digest, stored.sms_opt_out_at, stored.confirmed_at) == (
        DigestMode.WEEKLY,
        NOW,
        r.confirmed_at,
    )


async def test_the_latest_plan_contact_wins() -> None:
    uow = FakeNotificationsUnitOfWork()
    plan_id, member_id = uuid4(), uuid4()
    first, second = (
        PlanContact(plan_id, member_id, uuid4(), "Draft"),
        PlanContact(plan_id, member_id, uuid4(), "Final"),
    )
    for contact in (first, second):
        await learning.remember_plan_contact(uow, learning.RememberPlanContact(contact))
    context = await uow.lookups.context(Trigger("plan_submitted", uuid4(), NOW, {P: plan_id, M: member_id}))
    assert (context.plan_title, context.plan_contact_id, context.member_contact_id) == (
        "Final", second.contact_id, second.contact_id,
    )  # fmt: skip


async def test_forgetting_a_person_fails_what_was_pending_for_them() -> None:
    uow = FakeNotificationsUnitOfWork()
    r = await _person(uow)
    await _follow(uow, r.id, M, uuid4())
    pending, other = await _queued(uow, r.id), await _queued(uow)

    assert await learning.forget_recipient(uow, learning.ForgetRecipient(r.id, RecipientKind.CONTACT)) == 1

    assert r.id not in uow.tables.recipients and uow.tables.subscriptions == {}
    assert uow.tables.deliveries[pending.id].status is DeliveryStatus.FAILED
    assert uow.tables.deliveries[pending.id].last_error == RECIPIENT_ERASED.reason
    assert uow.tables.deliveries[other.id].status is DeliveryStatus.PENDING
    assert [(c.action, c.source) for c in uow.tables.consents_of(r.id)] == [("erased", "tombstone")]


async def test_forgetting_someone_of_another_kind_or_unknown_does_nothing() -> None:
    uow = FakeNotificationsUnitOfWork()
    r = await _person(uow)
    assert await learning.forget_recipient(uow, learning.ForgetRecipient(r.id, RecipientKind.AUTHOR)) == 0
    assert await learning.forget_recipient(uow, learning.ForgetRecipient(uuid4(), RecipientKind.CONTACT)) == 0
    assert r.id in uow.tables.recipients and uow.tables.consents == []


# --- fan-out ------------------------------------------------------------------------------------
async def test_followers_the_point_of_contact_and_roles_each_hear_once() -> None:
    uow = FakeNotificationsUnitOfWork()
    plan_id, member_id, other_plan = uuid4(), uuid4(), uuid4()
    contact, member_fan, plan_fan, staff = [await _person(uow) for _ in range(4)]
    lurker, picky, elsewhere = [await _person(uow) for _ in range(3)]
    uow.tables.recipients[staff.id].roles = frozenset({"staff"})
    await learning.remember_plan_contact(uow, learning.RememberPlanContact(
        PlanContact(plan_id, member_id, contact.id, "Open justice plan")))  # fmt: skip
    await _follow(uow, contact.id, M, member_id)  # the contact also follows the member
    await _follow(uow, member_fan.id, M, member_id)
    await _follow(uow, plan_fan.id, P, plan_id, frozenset({"milestone_overdue"}))
    await _follow(uow, staff.id, P, plan_id)  # staff by role and by following: once
    await _follow(uow, lurker.id, M, member_id, confirmed=False)
    await _follow(uow, picky.id, P, plan_id, frozenset({"plan_submitted"}))
    await _follow(uow, elsewhere.id, P, other_plan)
    trigger = Trigger("milestone_overdue", uuid4(), NOW, {M: member_id, P: plan_id, ScopeType.COMMITMENT: uuid4()},
                      {"milestone_number": "2", "end_date": "2025-02-28"})  # fmt: skip

    assert await fan_out.notify(uow, trigger) == fan_out.FannedOut(deliveries=4, held_for_digest=0)

    told = sorted(str(d.recipient_id) for d in uow.tables.deliveries.values())
    assert told == sorted(str(r.id) for r in (contact, member_fan, plan_fan, staff))
    assert await fan_out.notify(uow, trigger) == fan_out.FannedOut(0, 0)  # the same event again


async def test_a_follower_hears_only_in_the_scopes_the_kind_can_be_followed_in() -> None:
    uow = FakeNotificationsUnitOfWork()
    previous_plan, member_id = uuid4(), uuid4()
    plan_fan, member_fan = await _person(uow), await _person(uow)
    await _follow(uow, plan_fan.id, P, previous_plan)
    await _follow(uow, member_fan.id, M, member_id)
    await fan_out.notify(uow, Trigger("next_plan_overdue", uuid4(), NOW, {M: member_id, P: previous_plan},
                                      {"due_date": "2025-03-01"}))  # fmt: skip
    # The member's follower, and the previous plan's point of contact (found when sent).
    got = {(d.recipient_id, d.plan_id) for d in uow.tables.deliveries.values()}
    assert got == {(member_fan.id, previous_plan), (None, previous_plan)}


async def test_params_are_filled_from_what_was_learnt() -> None:
    uow = FakeNotificationsUnitOfWork()
    plan_id, member_id, round_id = uuid4(), uuid4(), uuid4()
    contact = await _person(uow)
    await learning.remember_plan_contact(uow, learning.RememberPlanContact(
        PlanContact(plan_id, member_id, contact.id, "Open justice plan")))  # fmt: skip
    await uow.lookups.save_round(round_id, plan_id, "Ideas round")
    trigger = Trigger("consultation_closed", uuid4(), NOW, {M: member_id, P: plan_id, R: round_id},
                      {"closed_on": "2025-03-01", "submissions": "4", "comments": "11", "secret": "dropped"})  # fmt: skip
    await fan_out.notify(uow, trigger)
    [d] = uow.tables.deliveries.values()
    assert d.params == {"plan_title": "Open justice plan", "round_title": "Ideas round", "closed_on": "2025-03-01",
                        "submissions": "4", "comments": "11"}  # fmt: skip


async def test_a_name_not_learnt_yet_shows_empty_rather_than_holding_the_message() -> None:
    uow = FakeNotificationsUnitOfWork()
    rid = uuid4()
    await uow.recipients.learn(Recipient(id=rid, name="Omar", email="o@example.org", confirmed_at=NOW))
    await fan_out.notify(uow, Trigger("response_received", uuid4(), NOW, {P: uuid4(), R: uuid4()},
                                      {"decision": "accepted", "url": "https://x"}, recipient_ids=(rid,)))  # fmt: skip
    [d] = uow.tables.deliveries.values()
    assert (d.recipient_id, d.params["plan_title"], d.params["round_title"]) == (rid, "", "")


async def test_the_researcher_and_the_member_s_voice_are_found_by_lookups() -> None:
    uow = FakeNotificationsUnitOfWork()
    review_id, plan_id, member_id, researcher, contact = uuid4(), uuid4(), uuid4(), uuid4(), uuid4()
    await uow.lookups.save_review(review_id, plan_id, "midterm_review", researcher_id=researcher)
    await uow.lookups.save_plan_contact(PlanContact(plan_id, member_id, contact, "Plan"))
    await fan_out.notify(uow, Trigger("review_due_soon", uuid4(), NOW, {P: plan_id, ScopeType.REVIEW: review_id},
                                      {"days_left": "3"}))  # fmt: skip
    await fan_out.notify(uow, Trigger("forum_meeting_overdue", uuid4(), NOW, {M: member_id},
                                      {"since": "2024-08-01", "due_on": "2025-02-01"}))  # fmt: skip
    assert [(d.template, d.recipient_id) for d in uow.tables.deliveries.values()] == [
        ("review_due_soon", researcher), ("forum_meeting_overdue", contact),
    ]  # fmt: skip


async def test_a_digest_reader_has_the_event_held_not_sent() -> None:
    uow = FakeNotificationsUnitOfWork()
    member_id = uuid4()
    reader = await _person(uow, digest=DigestMode.DAILY)
    await _follow(uow, reader.id, M, member_id)
    trigger = Trigger(
        "plan_submitted", uuid4(), NOW, {M: member_id, P: uuid4()}, {"submitted_on": "2025-03-01"}
    )
    # Held for the reader; the plan's point of contact (not known yet) gets it when sent.
    assert await fan_out.notify(uow, trigger) == fan_out.FannedOut(1, 1)
    assert await fan_out.notify(uow, trigger) == fan_out.FannedOut(0, 0)
    [held] = uow.tables.held_for(reader.id)
    assert (held.item.template, held.delivery_id) == ("plan_submitted", None)


# --- claiming -----------------------------------------------------------------------------------
async def test_a_claim_carries_the_addressee_and_the_plan_title() -> None:
    uow = FakeNotificationsUnitOfWork()
    r = await _person(uow)
    plan_id = uuid4()
    await uow.lookups.save_plan_contact(PlanContact(plan_id, uuid4(), r.id, "Open justice plan"))
    old_style = Delivery.queue(
        cause_event_id=uuid4(), template="plan_submitted", plan_id=plan_id
    )  # no recipient
    await uow.deliveries.add(old_style)

    [claim] = await sending.claim_due(uow, _claim_due())

    assert (claim.delivery.id, claim.recipient_id, claim.plan_title) == (
        old_style.id,
        r.id,
        "Open justice plan",
    )
    assert claim.recipient is not None and claim.recipient.language == "fr"
    assert uow.tables.claims[old_style.id] == (claim.token, NOW + LEASE)


async def test_a_claimed_delivery_is_not_claimed_again_until_its_lease_runs_out() -> None:
    uow = FakeNotificationsUnitOfWork()
    delivery = await _queued(uow)
    [first] = await sending.claim_due(uow, _claim_due())

    assert await sending.claim_due(uow, _claim_due()) == []  # another replica, same moment
    assert await sending.claim_due(uow, _claim_due(NOW + LEASE - timedelta(seconds=1))) == []

    [second] = await sending.claim_due(uow, _claim_due(NOW + LEASE))  # the first worker died
    assert second.delivery.id == delivery.id and second.token != first.token
    assert second.recipient is None  # never learnt


async def test_claims_take_due_pending_deliveries_oldest_first_up_to_the_limit() -> None:
    uow = FakeNotificationsUnitOfWork()
    old, new, later, sent = [await _queued(uow) for _ in range(4)]
    uow.tables.deliveries[old.id].next_attempt_at = NOW - timedelta(minutes=2)
    uow.tables.deliveries[new.id].next_attempt_at = NOW - timedelta(minutes=1)
    uow.tables.deliveries[later.id].next_attempt_at = NOW + timedelta(seconds=1)  # backing off
    uow.tables.deliveries[sent.id].status = DeliveryStatus.SENT

    assert [c.delivery.id for c in await sending.claim_due(uow, _claim_due(limit=1))] == [old.id]
    assert [c.delivery.id for c in await sending.claim_due(uow, _claim_due(limit=5))] == [new.id]


# --- recording ----------------------------------------------------------------------------------
async def _claimed(uow: FakeNotificationsUnitOfWork, **kw: object) -> sending.Outcome:
    r = await _person(uow, **kw)
    await _queued(uow, r.id)
    [claim] = await sending.claim_due(uow, _claim_due())
    return sending.Outcome(claim, NOW + timedelta(seconds=2))


async def _record(uow: FakeNotificationsUnitOfWork, *outcomes: sending.Outcome) -> set[UUID]:
    return await sending.record_outcomes(uow, sending.RecordOutcomes(outcomes, POLICY))


async def test_recording_a_sent_message_settles_it_and_announces_it_once() -> None:
    uow = FakeNotificationsUnitOfWork()
    sent = await _claimed(uow)
    d = sent.claim.delivery

    assert await _record(uow, sent) == {d.id}

    stored = uow.tables.deliveries[d.id]
    assert (stored.status, stored.attempts, stored.sent_at) == (DeliveryStatus.SENT, 1, sent.at)
    assert d.id not in uow.tables.claims
    [event] = uow.events
    assert isinstance(event, DeliverySent)
    assert (event.delivery_id, event.recipient_id, event.attempts) == (d.id, sent.claim.recipient_id, 1)


async def test_a_batch_is_recorded_together_each_by_its_outcome() -> None:
    uow = FakeNotificationsUnitOfWork()
    ok, passing, final = await _claimed(uow), await _claimed(uow), await _claimed(uow)
    outcomes = [ok, sending.Outcome(passing.claim, NOW, Problem("SMTPServerDisconnected")),
                sending.Outcome(final.claim, NOW, NO_EMAIL_ADDRESS)]  # fmt: skip

    assert len(await _record(uow, *outcomes)) == 3

    statuses = [(uow.tables.deliveries[o.claim.delivery.id].status, uow.tables.deliveries[o.claim.delivery.id].attempts)
                for o in outcomes]  # fmt: skip
    assert statuses == [(DeliveryStatus.SENT, 1), (DeliveryStatus.PENDING, 1), (DeliveryStatus.FAILED, 1)]
    assert uow.tables.deliveries[passing.claim.delivery.id].next_attempt_at == NOW + timedelta(seconds=1)
    assert sorted(type(e).__name__ for e in uow.events) == ["DeliveryFailed", "DeliverySent"]
    assert uow.tables.claims == {}


async def test_a_passing_failure_is_due_again_after_the_backoff() -> None:
    uow = FakeNotificationsUnitOfWork()
    o = await _claimed(uow)
    await _record(uow, sending.Outcome(o.claim, NOW, Problem("SMTPServerDisconnected: gone")))
    assert await sending.claim_due(uow, _claim_due(NOW + timedelta(milliseconds=999))) == []
    [again] = await sending.claim_due(uow, _claim_due(NOW + timedelta(seconds=1)))
    assert (again.delivery.attempts, again.delivery.last_error) == (1, "SMTPServerDisconnected: gone")


async def test_quiet_hours_hold_a_delivery_without_an_attempt_or_event() -> None:
    uow = FakeNotificationsUnitOfWork()
    o = await _claimed(uow)
    until = NOW + timedelta(hours=9)
    await _record(uow, sending.Outcome(o.claim, NOW, held_until=until))
    stored = uow.tables.deliveries[o.claim.delivery.id]
    assert (stored.status, stored.attempts, stored.next_attempt_at) == (DeliveryStatus.PENDING, 0, until)
    assert uow.events == [] and uow.tables.claims == {}


async def test_an_outcome_under_a_lost_claim_is_not_recorded_nor_announced() -> None:
    uow = FakeNotificationsUnitOfWork()
    slow = await _claimed(uow)
    [fresh] = await sending.claim_due(uow, _claim_due(NOW + LEASE))  # slow's lease ran out

    assert await _record(uow, slow) == set()
    assert uow.events == []
    assert uow.tables.deliveries[fresh.delivery.id].status is DeliveryStatus.PENDING

    assert await _record(uow, sending.Outcome(fresh, NOW + LEASE)) == {fresh.delivery.id}
    assert len(uow.of_type(DeliverySent)) == 1


async def test_sent_without_a_recipient_is_a_programming_error() -> None:
    uow = FakeNotificationsUnitOfWork()
    await uow.deliveries.add(
        Delivery.queue(cause_event_id=uuid4(), template="plan_submitted", plan_id=uuid4())
    )
    [claim] = await sending.claim_due(uow, _claim_due())
    with pytest.raises(ValueError, match="without a recipient"):
        await _record(uow, sending.Outcome(claim, NOW))


async def test_released_claims_are_due_again_at_once() -> None:
    uow = FakeNotificationsUnitOfWork()
    a, b = await _queued(uow), await _queued(uow)
    claims = await sending.claim_due(uow, _claim_due())
    await sending.release_claims(uow, sending.ReleaseClaims(claims))
    assert {c.delivery.id for c in await sending.claim_due(uow, _claim_due())} == {a.id, b.id}


async def test_a_release_under_someone_else_s_claim_changes_nothing() -> None:
    uow = FakeNotificationsUnitOfWork()
    await _queued(uow)
    [stale] = await sending.claim_due(uow, _claim_due())
    [current] = await sending.claim_due(uow, _claim_due(NOW + LEASE))
    await sending.release_claims(uow, sending.ReleaseClaims([stale]))
    assert uow.tables.claims[current.delivery.id][0] == current.token


# --- the gateway's reports ----------------------------------------------------------------------
async def _sent_sms(uow: FakeNotificationsUnitOfWork, provider_id: str) -> sending.Outcome:
    o = await _claimed(uow, phone="+21620123456", email=None)
    return sending.Outcome(o.claim, NOW, provider_id=provider_id)


def _report(provider_id: str, status: str, at: datetime = NOW) -> sending.RecordGatewayStatus:
    return sending.RecordGatewayStatus(provider_id, status, "30003" if status == "undelivered" else None, at)


async def test_a_report_on_a_recorded_sms_is_applied() -> None:
    uow = FakeNotificationsUnitOfWork()
    o = await _sent_sms(uow, "SM1")
    await _record(uow, o)

    assert await sending.record_gateway_status(uow, _report("SM1", "delivered"))
    assert uow.tables.deliveries[o.claim.delivery.id].provider_status == "delivered"
    assert await sending.record_gateway_status(uow, _report("SM1", "undelivered"))
    stored = uow.tables.deliveries[o.claim.delivery.id]
    assert (stored.status, stored.last_error) == (
        DeliveryStatus.FAILED,
        "gateway reported undelivered (30003)",
    )
    assert [type(e) for e in uow.events] == [DeliverySent, DeliveryFailed]


async def test_a_report_that_comes_before_the_send_is_recorded_waits_and_is_applied_then() -> None:
    uow = FakeNotificationsUnitOfWork()
    o = await _sent_sms(uow, "SM2")
    assert not await sending.record_gateway_status(
        uow, _report("SM2", "undelivered", NOW + timedelta(seconds=2))
    )
    assert not await sending.record_gateway_status(
        uow, _report("SM2", "sent", NOW + timedelta(seconds=1))
    )  # older

    await _record(uow, o)

    stored = uow.tables.deliveries[o.claim.delivery.id]
    assert (stored.status, stored.provider_id, stored.provider_status) == (
        DeliveryStatus.FAILED,
        "SM2",
        "undelivered",
    )
    assert [type(e) for e in uow.events] == [DeliverySent, DeliveryFailed]
    assert uow.tables.reports == {}


async def test_fan_outs_collected_over_a_run_are_queued_together_at_its_end_and_not_on_failure() -> None:
    uow = FakeNotificationsUnitOfWork()
    plan_id, member_id = uuid4(), uuid4()
    contact = await _person(uow)
    await learning.remember_plan_contact(uow, learning.RememberPlanContact(
        PlanContact(plan_id, member_id, contact.id, "Open justice plan")))  # fmt: skip

    def submitted() -> Trigger:
        return Trigger(
            "plan_submitted", uuid4(), NOW, {M: member_id, P: plan_id}, {"submitted_on": "2025-03-01"}
        )

    async with fan_out.collected(uow):
        await fan_out.notify(uow, submitted())
        await fan_out.notify(uow, submitted())
        assert uow.tables.deliveries == {}  # decided, not queued yet
    assert len(uow.tables.deliveries) == 2

    async def failing_run() -> None:
        async with fan_out.collected(uow):
            await fan_out.notify(uow, submitted())
            raise RuntimeError("the run failed")

    with pytest.raises(RuntimeError):
        await failing_run()
    assert len(uow.tables.deliveries) == 2  # the failed run queued nothing
    assert (await fan_out.notify(uow, submitted())).deliveries == 1  # outside a run: at once
    assert len(uow.tables.deliveries) == 3

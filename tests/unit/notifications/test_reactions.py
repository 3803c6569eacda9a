"""Other services' events → what the notifications service learns and whom it tells."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from services.notifications.domain.deliveries import RECIPIENT_ERASED, DeliveryStatus
from services.notifications.domain.recipients import PlanContact, Recipient, RecipientKind
from services.notifications.domain.subscriptions import Subscription
from services.notifications.domain.triggers import FOLLOWABLE, ScopeType
from services.notifications.messages import LANGUAGES
from services.notifications.messages.catalogs import CATALOGS
from services.notifications.reactions import reactions
from shared.events import topics
from shared.events.base import Event, Tombstone
from shared.events.consultation import (
    AuthorContactRegistered,
    CommentModerated,
    ConsultationClosed,
    ConsultationClosingSoon,
    ConsultationOpened,
    ConsultationScheduled,
    Decision,
    ForumMeetingOverdue,
    InputKind,
    ModerationAction,
    ResponsePublished,
    RoundKind,
)
from shared.events.envelope import Received
from shared.events.irm import (
    ResearcherAssigned,
    ReviewDraftPublished,
    ReviewDueSoon,
    ReviewKind,
    ReviewOverdue,
    ReviewPublished,
    ReviewScheduled,
)
from shared.events.notifications import Channel, DeliveryFailed
from shared.events.plans import (
    ContactRegistered,
    MemberCreated,
    MilestoneOverdue,
    NextPlanOverdue,
    PlanCreated,
    PlanSubmitted,
    RepositoryStale,
)
from tests.fakes.notifications import FakeNotificationsUnitOfWork

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
PLAN_ID, MEMBER_ID, CONTACT_ID = uuid4(), uuid4(), uuid4()


async def _react(uow: FakeNotificationsUnitOfWork, event: Event, received_id: UUID | None = None) -> Received:
    received = Received(
        id=received_id or uuid4(), type="test", source="test", subject=None, time=NOW, event=event, headers={}
    )
    await reactions().handlers[type(event)](uow, received)  # type: ignore[arg-type]  # the fake stands in
    return received


async def _with_contact(phone: str | None = None) -> FakeNotificationsUnitOfWork:
    """A unit of work that knows the plan's point of contact, and nothing queued."""
    uow = FakeNotificationsUnitOfWork()
    await _react(
        uow, ContactRegistered(contact_id=CONTACT_ID, name="Nadia", email="n@example.org", phone=phone)
    )
    await uow.lookups.save_plan_contact(PlanContact(PLAN_ID, MEMBER_ID, CONTACT_ID, "Open justice plan"))
    return uow


def _queued(uow: FakeNotificationsUnitOfWork) -> list[tuple[str, UUID | None, Channel]]:
    return [(d.template, d.recipient_id, d.channel) for d in uow.tables.deliveries.values()]


def _submitted() -> PlanSubmitted:
    return PlanSubmitted(
        plan_id=PLAN_ID, member_id=MEMBER_ID, title="Open justice plan", start_date=date(2025, 1, 1),
        end_date=date(2027, 1, 1), commitment_count=2, point_of_contact_id=CONTACT_ID, submitted_at=NOW,
    )  # fmt: skip


def _scheduled(notice_days: float) -> ConsultationScheduled:
    return ConsultationScheduled(
        round_id=uuid4(), plan_id=PLAN_ID, member_id=MEMBER_ID, kind=RoundKind.IDEAS, title="Ideas",
        opens_at=NOW + timedelta(days=notice_days), closes_at=NOW + timedelta(days=40), scheduled_at=NOW,
        notice_days=notice_days, notice_days_required=14, short_notice=notice_days < 14,
    )  # fmt: skip


def _closed(reason: str) -> ConsultationClosed:
    return ConsultationClosed(round_id=uuid4(), plan_id=PLAN_ID, member_id=MEMBER_ID, closed_at=NOW,
                              reason=reason, submissions=4, comments=11)  # fmt: skip


# --- who people are -----------------------------------------------------------------------------
async def test_a_registered_contact_becomes_a_confirmed_recipient_and_nothing_is_queued() -> None:
    uow = FakeNotificationsUnitOfWork()
    await _react(
        uow, ContactRegistered(contact_id=CONTACT_ID, name="Nadia", email="n@example.org", language="es")
    )
    r = uow.tables.recipients[CONTACT_ID]
    assert (r.name, r.email, r.language, r.kind, r.confirmed) == (
        "Nadia",
        "n@example.org",
        "es",
        RecipientKind.CONTACT,
        True,
    )
    assert uow.tables.deliveries == {}


async def test_a_contact_registered_again_keeps_their_choices() -> None:
    uow = await _with_contact()
    uow.tables.recipients[CONTACT_ID].email_opt_out_at = NOW
    await _react(uow, ContactRegistered(contact_id=CONTACT_ID, name="Nadia B.", email="nb@example.org"))
    r = uow.tables.recipients[CONTACT_ID]
    assert (r.name, r.email, r.email_opt_out_at) == ("Nadia B.", "nb@example.org", NOW)


async def test_an_author_who_left_a_phone_is_reached_by_sms_only() -> None:
    uow = FakeNotificationsUnitOfWork()
    input_id = uuid4()
    await _react(uow, AuthorContactRegistered(input_id=input_id, round_id=uuid4(), plan_id=PLAN_ID, name="Omar",
                                              phone="+21620123456", language="xx"))  # fmt: skip
    r = uow.tables.recipients[input_id]
    assert (r.kind, r.channels, r.language, r.confirmed) == (
        RecipientKind.AUTHOR,
        frozenset({Channel.SMS}),
        "en",
        True,
    )


@pytest.mark.parametrize(
    ("topic", "kind", "erased"),
    [
        (topics.PLANS_CONTACTS, RecipientKind.CONTACT, True),
        (topics.CONSULTATION_CONTACTS, RecipientKind.AUTHOR, True),
        (topics.CONSULTATION_CONTACTS, RecipientKind.CONTACT, False),  # not what that topic brought
        (topics.PLANS, RecipientKind.CONTACT, False),
    ],
)
async def test_a_tombstone_forgets_the_person_its_topic_brought(
    topic: str, kind: RecipientKind, erased: bool
) -> None:
    uow = await _with_contact()
    uow.tables.recipients[CONTACT_ID].kind = kind
    await _react(uow, _submitted())
    await _react(uow, Tombstone(source_topic=topic, record_key=str(CONTACT_ID)))
    assert (CONTACT_ID not in uow.tables.recipients) is erased
    [d] = uow.tables.deliveries.values()
    assert (d.status is DeliveryStatus.FAILED) is erased
    if erased:
        assert d.last_error == RECIPIENT_ERASED.reason
        assert [c.action for c in uow.tables.consents_of(CONTACT_ID)] == ["erased"]


async def test_a_tombstone_with_a_key_never_stored_changes_nothing() -> None:
    uow = await _with_contact()
    await _react(uow, Tombstone(source_topic=topics.PLANS_CONTACTS, record_key="not-a-uuid"))
    assert CONTACT_ID in uow.tables.recipients


# --- what things are called ---------------------------------------------------------------------
async def test_a_created_plan_names_its_contact_and_queues_nothing() -> None:
    uow = FakeNotificationsUnitOfWork()
    await _react(uow, PlanCreated(plan_id=PLAN_ID, member_id=MEMBER_ID, title="Draft", start_date=date(2025, 1, 1),
                                  end_date=date(2027, 1, 1), point_of_contact_id=CONTACT_ID, created_at=NOW))  # fmt: skip
    assert uow.tables.plan_contacts[PLAN_ID][0] == PlanContact(PLAN_ID, MEMBER_ID, CONTACT_ID, "Draft")
    assert uow.tables.deliveries == {}


# --- whom it tells ------------------------------------------------------------------------------
async def test_a_submitted_plan_is_remembered_and_its_contact_told_on_each_channel() -> None:
    uow = await _with_contact(phone="+21620123456")
    received = await _react(uow, _submitted())
    assert _queued(uow) == [
        ("plan_submitted", CONTACT_ID, Channel.EMAIL),
        ("plan_submitted", CONTACT_ID, Channel.SMS),
    ]
    d = next(iter(uow.tables.deliveries.values()))
    assert (d.cause_event_id, d.plan_id) == (received.id, PLAN_ID)
    assert d.params == {"plan_title": "Open justice plan", "submitted_on": "2025-03-01"}


async def test_a_contact_not_known_yet_is_queued_one_email() -> None:
    uow = FakeNotificationsUnitOfWork()
    await _react(uow, _submitted())
    assert _queued(uow) == [("plan_submitted", CONTACT_ID, Channel.EMAIL)]


async def test_the_same_event_twice_queues_nothing_more() -> None:
    uow = await _with_contact(phone="+21620123456")
    received = await _react(uow, _submitted())
    await _react(uow, _submitted(), received_id=received.id)
    assert len(uow.tables.deliveries) == 2


async def test_a_scheduled_review_is_remembered_and_announced_to_the_plans_contact() -> None:
    uow = await _with_contact()
    review_id = uuid4()
    await _react(uow, ReviewScheduled(review_id=review_id, plan_id=PLAN_ID, member_id=MEMBER_ID,
                                      kind=ReviewKind.ACTION_PLAN_REVIEW, due_date=date(2025, 7, 1),
                                      scheduled_at=NOW))  # fmt: skip
    [d] = uow.tables.deliveries.values()
    assert (d.template, d.recipient_id) == ("review_scheduled", CONTACT_ID)
    assert d.params == {
        "plan_title": "Open justice plan",
        "review_kind": "action_plan_review",
        "due_date": "2025-07-01",
    }
    assert uow.tables.reviews[review_id].due_date == date(2025, 7, 1)


async def test_the_assigned_researcher_hears_with_the_due_date_learnt_before() -> None:
    uow = await _with_contact()
    review_id, researcher = uuid4(), uuid4()
    await uow.lookups.save_review(review_id, PLAN_ID, "midterm_review", due_date=date(2025, 9, 1))
    await _react(uow, ResearcherAssigned(review_id=review_id, plan_id=PLAN_ID, member_id=MEMBER_ID,
                                         kind=ReviewKind.MIDTERM_REVIEW, researcher_id=researcher,
                                         assigned_at=NOW))  # fmt: skip
    [d] = uow.tables.deliveries.values()
    assert (d.template, d.recipient_id, d.params["due_date"]) == ("review_assigned", researcher, "2025-09-01")


@pytest.mark.parametrize(("notice_days", "told"), [(3, True), (13.5, True), (14, False), (20, False)])
async def test_only_short_notice_is_told_to_the_contact(notice_days: float, told: bool) -> None:
    uow = await _with_contact()
    await _react(uow, _scheduled(notice_days))
    assert _queued(uow) == ([("consultation_short_notice", CONTACT_ID, Channel.EMAIL)] if told else [])
    if told:
        [d] = uow.tables.deliveries.values()
        assert d.params == {
            "plan_title": "Open justice plan", "round_title": "Ideas",
            "opens_on": (NOW + timedelta(days=notice_days)).date().isoformat(),
            "notice_days": f"{notice_days:g}", "required_days": "14",
        }  # fmt: skip


# A round closed by the plan's submission is told too: reactions.py skips only "cancelled" (the
# issue-10 rewrite changed this; the previous reaction mailed only "closed_on_schedule").
@pytest.mark.parametrize(
    ("reason", "told"), [("closed_on_schedule", True), ("plan_submitted", True), ("cancelled", False)]
)
async def test_a_closed_round_is_told_unless_cancelled(reason: str, told: bool) -> None:
    uow = await _with_contact()
    await _react(uow, _closed(reason))
    assert _queued(uow) == ([("consultation_closed", CONTACT_ID, Channel.EMAIL)] if told else [])
    if told:
        [d] = uow.tables.deliveries.values()
        assert (d.params["closed_on"], d.params["submissions"], d.params["comments"]) == (
            "2025-03-01",
            "4",
            "11",
        )


async def test_the_authors_named_by_a_response_hear_of_it() -> None:
    uow = FakeNotificationsUnitOfWork()
    known, unknown, round_id = uuid4(), uuid4(), uuid4()
    await _react(uow, AuthorContactRegistered(input_id=known, round_id=round_id, plan_id=PLAN_ID, name="Omar",
                                              email="o@example.org"))  # fmt: skip
    await _react(uow, ResponsePublished(response_id=uuid4(), round_id=round_id, plan_id=PLAN_ID,
                                        input_ids=[known, unknown], decision=Decision.ACCEPTED,
                                        rationale="Adopted.", published_at=NOW))  # fmt: skip
    # Only the author who left a contact: nobody is waited for on behalf of the other input.
    assert _queued(uow) == [("response_received", known, Channel.EMAIL)]
    d = next(iter(uow.tables.deliveries.values()))
    assert d.params["decision"] == "accepted"
    assert d.params["url"] == f"http://127.0.0.1:8002/v1/rounds/{round_id}/responses"


def test_every_decision_has_a_label_in_every_language() -> None:
    for language in LANGUAGES:
        labels = CATALOGS[language].labels["decision"]
        assert {d.value for d in Decision} <= labels.keys(), language


@pytest.mark.parametrize(
    ("action", "told"), [(ModerationAction.FLAGGED, True), (ModerationAction.HIDDEN, False)]
)
async def test_moderators_hear_of_flagged_inputs(action: ModerationAction, told: bool) -> None:
    uow = FakeNotificationsUnitOfWork()
    moderator = await _person(uow, roles=frozenset({"moderator"}))
    await _person(uow, roles=frozenset({"staff"}))
    await _react(uow, CommentModerated(input_id=uuid4(), input_kind=InputKind.COMMENT, round_id=uuid4(),
                                       plan_id=PLAN_ID, action=action, visible=True, moderated_at=NOW))  # fmt: skip
    assert _queued(uow) == ([("input_flagged", moderator, Channel.EMAIL)] if told else [])


async def test_staff_hear_of_a_failed_delivery_but_not_of_a_failed_alert() -> None:
    uow = FakeNotificationsUnitOfWork()
    staff = await _person(uow, roles=frozenset({"staff"}))

    def failed(template: str) -> DeliveryFailed:
        return DeliveryFailed(delivery_id=uuid4(), recipient_id=uuid4(), channel=Channel.SMS, template=template,
                              cause_event_id=uuid4(), attempts=8, failed_at=NOW, reason="x")  # fmt: skip

    await _react(uow, failed("delivery_failed"))
    assert _queued(uow) == []
    await _react(uow, failed("plan_submitted"))
    assert _queued(uow) == [("delivery_failed", staff, Channel.EMAIL)]
    [d] = uow.tables.deliveries.values()
    assert d.params == {"failed_template": "plan_submitted", "channel": "sms", "attempts": "8"}


async def _person(uow: FakeNotificationsUnitOfWork, **kw: object) -> UUID:
    r = Recipient(uuid4(), "Staff", email=f"{uuid4().hex[:6]}@example.org", confirmed_at=NOW, **kw)  # type: ignore[arg-type]
    await uow.recipients.save(r)
    return r.id


def _every_trigger() -> list[Event]:
    plan, review, round_, m, today = PLAN_ID, uuid4(), uuid4(), MEMBER_ID, NOW.date()
    kind = ReviewKind.ACTION_PLAN_REVIEW
    return [
        _submitted(),
        ReviewScheduled(review_id=review, plan_id=plan, member_id=m, kind=kind, due_date=today, scheduled_at=NOW),
        ReviewDraftPublished(review_id=review, plan_id=plan, member_id=m, kind=kind, draft_url=None,
                             comments_until=today, published_at=NOW),
        ReviewPublished(review_id=review, plan_id=plan, member_id=m, kind=kind, title="R", url="https://r",
                        published_on=today, published_at=NOW),
        ReviewDueSoon(review_id=review, plan_id=plan, member_id=m, kind=kind, due_date=today, days_left=3, state="draft",
                      detected_at=NOW),
        ReviewOverdue(review_id=review, plan_id=plan, member_id=m, kind=kind, due_date=today, state="draft",
                      detected_at=NOW),
        _scheduled(20),
        ConsultationOpened(round_id=round_, plan_id=plan, member_id=m, kind=RoundKind.IDEAS, opened_at=NOW,
                           closes_at=NOW),
        ConsultationClosingSoon(round_id=round_, plan_id=plan, member_id=m, title="Ideas", closes_at=NOW,
                                days_left=2, detected_at=NOW),
        _closed("closed_on_schedule"),
        MilestoneOverdue(plan_id=plan, commitment_id=uuid4(), milestone_id=uuid4(), member_id=m, number=2,
                         end_date=today, detected_at=NOW),
        ForumMeetingOverdue(forum_id=uuid4(), member_id=m, last_meeting_on=None, since=today, due_on=today,
                            detected_at=NOW),
        NextPlanOverdue(member_id=m, previous_plan_id=plan, previous_end_date=today, due_date=today, detected_at=NOW),
        RepositoryStale(plan_id=plan, member_id=m, period_start=today, period_end=today, updates_in_period=0,
                        detected_at=NOW),
    ]  # fmt: skip


async def test_a_follower_of_the_member_hears_of_every_followable_kind_once() -> None:
    uow = FakeNotificationsUnitOfWork()
    await _react(uow, MemberCreated(member_id=MEMBER_ID, name="Tunisia", kind="national", created_at=NOW))
    follower = await _person(uow)
    await uow.subscriptions.save(
        Subscription.new(follower, ScopeType.MEMBER, MEMBER_ID, frozenset(), NOW, confirmed=True)
    )
    for event in _every_trigger():
        await _react(uow, event)
    heard = {d.template: d for d in uow.tables.deliveries.values() if d.recipient_id == follower}
    assert sorted(heard) == sorted(FOLLOWABLE)
    assert heard["forum_meeting_overdue"].params["member_name"] == "Tunisia"
    # The member's voice is the point of contact of its latest plan (not known yet: one e-mail).
    forum = [d.recipient_id for d in uow.tables.deliveries.values() if d.template == "forum_meeting_overdue"]
    assert sorted(map(str, forum)) == sorted([str(follower), str(CONTACT_ID)])


def test_every_consumed_event_has_one_reaction() -> None:
    assert set(reactions().handlers) == {
        ContactRegistered, AuthorContactRegistered, Tombstone, MemberCreated, PlanCreated, PlanSubmitted,
        MilestoneOverdue, NextPlanOverdue, RepositoryStale, ReviewScheduled, ResearcherAssigned,
        ReviewDraftPublished, ReviewPublished, ReviewDueSoon, ReviewOverdue, ConsultationScheduled,
        ConsultationOpened, ConsultationClosingSoon, ConsultationClosed, ResponsePublished, CommentModerated,
        ForumMeetingOverdue, DeliveryFailed,
    }  # fmt: skip

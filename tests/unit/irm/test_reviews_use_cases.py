"""IRM review use cases against the in-memory unit of work: every rule and refusal (its kind and
rule name, and no event on a refusal)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest

from services.irm.domain.reviews import Review, SubmittedPlan
from services.irm.use_cases import reviews as use_cases
from shared.auth import Principal
from shared.errors import DomainError, Forbidden, Invalid, NotFound, RuleViolation
from shared.events.irm import (
    ResearcherAssigned,
    ReviewCommentReceived,
    ReviewDraftPublished,
    ReviewDueSoon,
    ReviewKind,
    ReviewOverdue,
    ReviewPublished,
    ReviewScheduled,
    ReviewState,
    ReviewStateChanged,
    ReviewWithdrawn,
)
from tests.fakes.irm import FakeIrmUnitOfWork

S = ReviewState
TODAY = date(2025, 6, 1)


def who(*roles: str, sub: str = "someone", member_ids: frozenset[UUID] = frozenset()) -> Principal:
    return Principal(sub, frozenset(roles), member_ids)


IRM = who("irm", sub="irm-staff")
RESEARCHER = who("researcher", sub="res-1")
OTHER_RESEARCHER = who("researcher", sub="res-2")
PARTICIPANT = who("participant", sub="citizen")


def _plan(
    submitted_at: datetime, start: date = date(2025, 1, 1), end: date = date(2027, 1, 1)
) -> SubmittedPlan:
    return SubmittedPlan(
        plan_id=uuid4(), member_id=uuid4(), title="Plan 2025", start_date=start, end_date=end,
        submitted_at=submitted_at,
    )  # fmt: skip


async def test_submission_schedules_an_action_plan_review_due_four_months_later() -> None:
    uow = FakeIrmUnitOfWork()
    plan = _plan(datetime(2025, 10, 31, 22, 0, tzinfo=UTC))

    review = await use_cases.schedule_action_plan_review(uow, use_cases.ScheduleActionPlanReview(plan))

    assert review is not None
    assert review.kind is ReviewKind.ACTION_PLAN_REVIEW
    assert review.state == "scheduled"
    assert (review.opened_on, review.due_date) == (date(2025, 10, 31), date(2026, 2, 28))
    assert uow.reviews.by_id == {review.id: review}
    [event] = uow.events
    assert isinstance(event, ReviewScheduled)
    assert (event.review_id, event.plan_id, event.due_date) == (review.id, plan.plan_id, date(2026, 2, 28))


async def test_the_opening_day_is_the_utc_day_of_submission() -> None:
    uow = FakeIrmUnitOfWork()
    # 23:30 in UTC-5 is already the next day in UTC.
    late = datetime(2025, 1, 14, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    review = await use_cases.schedule_action_plan_review(
        uow, use_cases.ScheduleActionPlanReview(_plan(late), due_months=6)
    )
    assert review is not None
    assert (review.opened_on, review.due_date) == (date(2025, 1, 15), date(2025, 7, 15))


async def test_a_replayed_submission_changes_nothing() -> None:
    uow = FakeIrmUnitOfWork()
    cmd = use_cases.ScheduleOnSubmission(_plan(datetime(2025, 1, 1, tzinfo=UTC)))
    assert len(await use_cases.schedule_on_submission(uow, cmd)) == 1
    uow.events.clear()
    assert await use_cases.schedule_on_submission(uow, cmd) == []
    assert uow.events == []
    assert len(uow.reviews.by_id) == 1


async def test_a_four_year_plan_gets_a_midterm_review_at_its_midpoint() -> None:
    uow = FakeIrmUnitOfWork()
    plan = _plan(datetime(2024, 1, 1, tzinfo=UTC), start=date(2024, 1, 1), end=date(2028, 1, 1))
    apr, midterm = await use_cases.schedule_on_submission(
        uow, use_cases.ScheduleOnSubmission(plan, apr_due_months=4, midterm_due_months=3)
    )
    assert apr.kind is ReviewKind.ACTION_PLAN_REVIEW
    assert midterm.kind is ReviewKind.MIDTERM_REVIEW
    assert (midterm.opened_on, midterm.due_date) == (date(2025, 12, 31), date(2026, 3, 31))  # 1461 days // 2
    assert [type(e) for e in uow.events] == [ReviewScheduled, ReviewScheduled]


async def test_a_plan_ended_first_gets_its_results_report_from_the_event_alone() -> None:
    uow = FakeIrmUnitOfWork()
    plan_id, member_id = uuid4(), uuid4()
    cmd = use_cases.ScheduleResultsReport(plan_id, member_id, date(2025, 10, 31), due_months=4)
    review = await use_cases.schedule_results_report(uow, cmd)
    assert review is not None
    assert (review.kind, review.due_date) == (ReviewKind.RESULTS_REPORT, date(2026, 2, 28))
    assert uow.reviews.seen[plan_id] == (member_id, date(2025, 10, 31))
    [event] = uow.events
    assert isinstance(event, ReviewScheduled)
    uow.events.clear()
    assert await use_cases.schedule_results_report(uow, cmd) is None  # replay
    assert uow.events == []


async def test_co_creation_brief() -> None:
    uow = FakeIrmUnitOfWork()
    cmd = use_cases.ScheduleCoCreationBrief(uuid4(), uuid4(), date(2025, 3, 1), due_days=30)
    review = await use_cases.schedule_co_creation_brief(uow, cmd)
    assert review is not None
    assert (review.kind, review.due_date) == (ReviewKind.CO_CREATION_BRIEF, date(2025, 3, 31))
    assert await use_cases.schedule_co_creation_brief(uow, cmd) is None


# --- walking a review ------------------------------------------------------------------------------


async def _scheduled(uow: FakeIrmUnitOfWork, due: date = date(2025, 9, 1)) -> Review:
    review, _ = Review.open(
        ReviewKind.ACTION_PLAN_REVIEW, uuid4(), uuid4(), opened_on=date(2025, 5, 1), due_date=due,
        now=datetime.now(UTC),
    )  # fmt: skip
    await uow.reviews.add(review)
    return review


async def _researching(uow: FakeIrmUnitOfWork) -> Review:
    review = await _scheduled(uow)
    r = await use_cases.register_researcher(uow, use_cases.RegisterResearcher(IRM, "res-1", "R. One"))
    await use_cases.assign_researcher(uow, use_cases.AssignResearcher(IRM, review.id, r.id))
    uow.events.clear()
    return review


async def _in(uow: FakeIrmUnitOfWork, state: ReviewState) -> Review:
    review = await _researching(uow)
    if state is S.RESEARCHING:
        return review
    await use_cases.submit_draft(
        uow, use_cases.SubmitDraft(RESEARCHER, review.id, "https://irm.example.org/d")
    )
    for step in ("pre_publication", "public_comment"):
        if review.state is state:
            break
        await use_cases.move_step(uow, use_cases.MoveStep(RESEARCHER, review.id, step, TODAY))  # type: ignore[arg-type]
    assert review.state is state
    uow.events.clear()
    return review


async def _refused(uow: FakeIrmUnitOfWork, kind: type[DomainError], call: object) -> DomainError:
    with pytest.raises(kind) as err:
        await call  # type: ignore[misc]
    assert uow.events == []
    return err.value


async def test_assigning_a_researcher_starts_research() -> None:
    uow = FakeIrmUnitOfWork()
    review = await _scheduled(uow)
    r = await use_cases.register_researcher(uow, use_cases.RegisterResearcher(IRM, "res-1", "R. One"))
    await use_cases.assign_researcher(uow, use_cases.AssignResearcher(IRM, review.id, r.id))
    assert (review.state, review.researcher_id) == (S.RESEARCHING, r.id)
    changed, assigned = uow.events
    assert isinstance(changed, ReviewStateChanged) and changed.to_state is S.RESEARCHING
    assert isinstance(assigned, ResearcherAssigned) and assigned.researcher_id == r.id


async def test_registering_again_updates_the_declared_ties() -> None:
    uow = FakeIrmUnitOfWork()
    first = await use_cases.register_researcher(uow, use_cases.RegisterResearcher(IRM, "res-1", "R. One"))
    tie = uuid4()
    again = await use_cases.register_researcher(
        uow, use_cases.RegisterResearcher(IRM, "res-1", "R. One", frozenset({tie}))
    )
    assert (again.id, again.ties) == (first.id, frozenset({tie}))


async def test_assignment_refusals() -> None:
    uow = FakeIrmUnitOfWork()
    review = await _scheduled(uow)
    tied = await use_cases.register_researcher(
        uow, use_cases.RegisterResearcher(IRM, "res-9", "Tied", frozenset({review.member_id}))
    )
    err = await _refused(
        uow,
        RuleViolation,
        use_cases.assign_researcher(uow, use_cases.AssignResearcher(IRM, review.id, tied.id)),
    )
    assert isinstance(err, RuleViolation) and err.rule == "review.researcher_not_independent"
    assert review.state is S.SCHEDULED
    await _refused(
        uow,
        Forbidden,
        use_cases.assign_researcher(uow, use_cases.AssignResearcher(RESEARCHER, review.id, tied.id)),
    )
    await _refused(
        uow, Invalid, use_cases.assign_researcher(uow, use_cases.AssignResearcher(IRM, review.id, uuid4()))
    )
    await _refused(
        uow, NotFound, use_cases.assign_researcher(uow, use_cases.AssignResearcher(IRM, uuid4(), tied.id))
    )
    await _refused(
        uow,
        Forbidden,
        use_cases.register_researcher(uow, use_cases.RegisterResearcher(PARTICIPANT, "x", "X")),
    )


async def test_only_the_assigned_researcher_or_irm_staff_drafts() -> None:
    uow = FakeIrmUnitOfWork()
    review = await _researching(uow)
    url = "https://irm.example.org/draft"
    for intruder in (
        OTHER_RESEARCHER,
        PARTICIPANT,
        who("staff"),
        who("government", member_ids=frozenset({review.member_id})),
    ):
        await _refused(
            uow, Forbidden, use_cases.submit_draft(uow, use_cases.SubmitDraft(intruder, review.id, url))
        )
    await use_cases.submit_draft(uow, use_cases.SubmitDraft(RESEARCHER, review.id, url))
    assert (review.state, review.draft_url) == (S.DRAFT, url)
    [changed] = uow.events
    assert isinstance(changed, ReviewStateChanged) and changed.to_state is S.DRAFT


async def test_steps_out_of_order_are_refused() -> None:
    uow = FakeIrmUnitOfWork()
    review = await _researching(uow)
    err = await _refused(
        uow, RuleViolation,
        use_cases.move_step(uow, use_cases.MoveStep(RESEARCHER, review.id, "public_comment", TODAY)),
    )  # fmt: skip
    assert isinstance(err, RuleViolation) and err.rule == "review.transition_not_allowed"
    await _refused(
        uow, Forbidden,
        use_cases.move_step(uow, use_cases.MoveStep(OTHER_RESEARCHER, review.id, "pre_publication", TODAY)),
    )  # fmt: skip


async def test_pre_publication_then_public_comment() -> None:
    uow = FakeIrmUnitOfWork()
    review = await _in(uow, S.DRAFT)
    await use_cases.move_step(uow, use_cases.MoveStep(IRM, review.id, "pre_publication", TODAY, 21, 14))
    assert review.comments_until == TODAY + timedelta(days=21)
    uow.events.clear()
    await use_cases.move_step(uow, use_cases.MoveStep(RESEARCHER, review.id, "public_comment", TODAY, 21, 14))
    changed, draft = uow.events
    assert isinstance(changed, ReviewStateChanged) and changed.comments_until == TODAY + timedelta(days=14)
    assert isinstance(draft, ReviewDraftPublished) and draft.draft_url == "https://irm.example.org/d"


async def test_pre_publication_comments_come_from_the_members_government_or_staff() -> None:
    uow = FakeIrmUnitOfWork()
    review = await _in(uow, S.PRE_PUBLICATION)
    gov = who("government", sub="gov-1", member_ids=frozenset({review.member_id}))
    other_gov = who("government", sub="gov-2", member_ids=frozenset({uuid4()}))
    for outsider in (PARTICIPANT, other_gov, OTHER_RESEARCHER):
        await _refused(
            uow,
            Forbidden,
            use_cases.comment_on_draft(uow, use_cases.CommentOnDraft(outsider, review.id, "x", TODAY)),
        )
    for ok in (gov, IRM, who("staff")):
        c = await use_cases.comment_on_draft(uow, use_cases.CommentOnDraft(ok, review.id, "Noted", TODAY))
        assert c.phase is S.PRE_PUBLICATION
    assert uow.reviews.comments[c.id].text == "Noted"
    events = [e for e in uow.events if isinstance(e, ReviewCommentReceived)]
    assert len(events) == 3
    # Ids only: the text never travels in the event.
    assert "Noted" not in events[0].model_dump_json()


async def test_public_comment_takes_anyone_signed_in_within_its_window() -> None:
    uow = FakeIrmUnitOfWork()
    review = await _in(uow, S.PUBLIC_COMMENT)
    c = await use_cases.comment_on_draft(uow, use_cases.CommentOnDraft(PARTICIPANT, review.id, "Good", TODAY))
    assert (c.phase, c.author_role) == (S.PUBLIC_COMMENT, "participant")
    uow.events.clear()
    late = TODAY + timedelta(days=15)
    err = await _refused(
        uow,
        RuleViolation,
        use_cases.comment_on_draft(uow, use_cases.CommentOnDraft(PARTICIPANT, review.id, "x", late)),
    )
    assert isinstance(err, RuleViolation) and err.rule == "review.comment_window_closed"
    await _refused(
        uow,
        Invalid,
        use_cases.comment_on_draft(uow, use_cases.CommentOnDraft(PARTICIPANT, review.id, "  ", TODAY)),
    )
    await _refused(
        uow, Invalid,
        use_cases.comment_on_draft(uow, use_cases.CommentOnDraft(PARTICIPANT, review.id, "x" * 11, TODAY, max_chars=10)),
    )  # fmt: skip


@pytest.mark.parametrize("state", [S.RESEARCHING, S.DRAFT])
async def test_no_comments_outside_the_windows(state: ReviewState) -> None:
    uow = FakeIrmUnitOfWork()
    review = await _in(uow, state)
    err = await _refused(
        uow,
        RuleViolation,
        use_cases.comment_on_draft(uow, use_cases.CommentOnDraft(IRM, review.id, "x", TODAY)),
    )
    assert isinstance(err, RuleViolation) and err.rule == "review.comment_window_closed"


async def test_publishing_waits_for_every_comment_to_be_considered() -> None:
    uow = FakeIrmUnitOfWork()
    review = await _in(uow, S.PUBLIC_COMMENT)
    c = await use_cases.comment_on_draft(uow, use_cases.CommentOnDraft(PARTICIPANT, review.id, "Good", TODAY))
    uow.events.clear()
    publish = use_cases.PublishReview(
        RESEARCHER, review.id, "APR 2025", "https://irm.example.org/apr.pdf", TODAY
    )
    err = await _refused(uow, RuleViolation, use_cases.publish_review(uow, publish))
    assert isinstance(err, RuleViolation) and err.rule == "review.comments_not_considered"

    await _refused(
        uow,
        Forbidden,
        use_cases.consider_comment(uow, use_cases.ConsiderComment(OTHER_RESEARCHER, review.id, c.id, "ok")),
    )
    note = await _refused(
        uow,
        RuleViolation,
        use_cases.consider_comment(uow, use_cases.ConsiderComment(RESEARCHER, review.id, c.id, " ")),
    )
    assert isinstance(note, RuleViolation) and (note.rule, note.field) == ("comment.note_required", "note")
    await _refused(
        uow,
        NotFound,
        use_cases.consider_comment(uow, use_cases.ConsiderComment(RESEARCHER, review.id, uuid4(), "ok")),
    )
    await use_cases.consider_comment(
        uow, use_cases.ConsiderComment(RESEARCHER, review.id, c.id, "Section 3 revised")
    )
    assert uow.reviews.comments[c.id].considered_note == "Section 3 revised"

    await _refused(uow, Forbidden, use_cases.publish_review(uow, use_cases.PublishReview(
        OTHER_RESEARCHER, review.id, "APR", "https://irm.example.org/apr.pdf", TODAY)))  # fmt: skip
    await _refused(uow, Invalid, use_cases.publish_review(uow, use_cases.PublishReview(
        RESEARCHER, review.id, "APR", "http://irm.example.org/apr.pdf", TODAY)))  # fmt: skip
    await use_cases.publish_review(uow, publish)
    changed, published = uow.events
    assert isinstance(changed, ReviewStateChanged) and changed.to_state is S.PUBLISHED
    assert isinstance(published, ReviewPublished)
    assert (published.title, published.url, published.comments_received) == (
        "APR 2025", "https://irm.example.org/apr.pdf", 1,
    )  # fmt: skip
    uow.events.clear()
    closed = await _refused(
        uow,
        RuleViolation,
        use_cases.consider_comment(uow, use_cases.ConsiderComment(RESEARCHER, review.id, c.id, "again")),
    )
    assert isinstance(closed, RuleViolation) and closed.rule == "review.closed"


async def test_publish_before_public_comment_is_a_step_out_of_order() -> None:
    uow = FakeIrmUnitOfWork()
    review = await _in(uow, S.PRE_PUBLICATION)
    err = await _refused(uow, RuleViolation, use_cases.publish_review(uow, use_cases.PublishReview(
        IRM, review.id, "APR", "https://irm.example.org/apr.pdf", TODAY)))  # fmt: skip
    assert isinstance(err, RuleViolation) and err.rule == "review.transition_not_allowed"


async def test_withdrawal() -> None:
    uow = FakeIrmUnitOfWork()
    review = await _in(uow, S.DRAFT)
    await _refused(
        uow, Forbidden, use_cases.withdraw_review(uow, use_cases.WithdrawReview(RESEARCHER, review.id, "x"))
    )
    await _refused(
        uow, Invalid, use_cases.withdraw_review(uow, use_cases.WithdrawReview(IRM, review.id, " "))
    )
    await use_cases.withdraw_review(uow, use_cases.WithdrawReview(IRM, review.id, "plan withdrawn"))
    assert (review.state, review.withdrawn_reason) == (S.WITHDRAWN, "plan withdrawn")
    assert isinstance(uow.events[-1], ReviewWithdrawn)
    uow.events.clear()
    err = await _refused(
        uow, RuleViolation, use_cases.withdraw_review(uow, use_cases.WithdrawReview(IRM, review.id, "again"))
    )
    assert isinstance(err, RuleViolation) and err.rule == "review.transition_not_allowed"


# --- timers -----------------------------------------------------------------------------------------


async def test_the_timer_opens_public_comment_when_pre_publication_ends() -> None:
    uow = FakeIrmUnitOfWork()
    review = await _in(uow, S.PRE_PUBLICATION)
    ends = review.comments_until
    assert ends is not None
    cmd = use_cases.EndPrePublicationWindows(ends, public_comment_days=14, limit=10)
    assert await use_cases.end_pre_publication_windows(uow, cmd) == 0  # the last day is still open
    after = ends + timedelta(days=1)
    cmd = use_cases.EndPrePublicationWindows(after, public_comment_days=14, limit=10)
    assert await use_cases.end_pre_publication_windows(uow, cmd) == 1
    assert (review.state, review.comments_until) == (S.PUBLIC_COMMENT, after + timedelta(days=14))
    assert [type(e) for e in uow.events] == [ReviewStateChanged, ReviewDraftPublished]
    assert await use_cases.end_pre_publication_windows(uow, cmd) == 0


async def test_reminders_and_overdue_reports_are_made_once() -> None:
    uow = FakeIrmUnitOfWork()
    soon = await _scheduled(uow, due=TODAY + timedelta(days=10))
    late = await _scheduled(uow, due=TODAY - timedelta(days=1))
    far = await _scheduled(uow, due=TODAY + timedelta(days=60))
    done = await use_cases.report_due(uow, use_cases.ReportDue(use_cases.DUE_SOON, TODAY, 14, 10))
    assert done == use_cases.Reported(1, 1)
    done = await use_cases.report_due(uow, use_cases.ReportDue(use_cases.OVERDUE, TODAY, 14, 10))
    assert done == use_cases.Reported(1, 1)
    reminder, overdue = uow.events
    assert isinstance(reminder, ReviewDueSoon) and (reminder.review_id, reminder.days_left) == (soon.id, 10)
    assert isinstance(overdue, ReviewOverdue) and overdue.review_id == late.id
    uow.events.clear()
    for kind in (use_cases.DUE_SOON, use_cases.OVERDUE):
        assert await use_cases.report_due(
            uow, use_cases.ReportDue(kind, TODAY + timedelta(days=1), 14, 10)
        ) == (use_cases.Reported(0, 0))
    assert uow.events == []
    assert far.id not in {e.review_id for e in uow.events}

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

from services.irm.domain.reviews import (
    TRANSITIONS,
    Researcher,
    Review,
    SubmittedPlan,
    action_plan_review_due,
    add_months,
    is_four_year_plan,
    midpoint,
    months_between,
)
from shared.errors import Invalid, RuleViolation
from shared.events.irm import (
    ResearcherAssigned,
    ReviewDraftPublished,
    ReviewKind,
    ReviewPublished,
    ReviewState,
    ReviewStateChanged,
    ReviewWithdrawn,
)


@pytest.mark.parametrize(
    ("submitted", "due"),
    [
        (date(2025, 1, 15), date(2025, 5, 15)),
        (date(2025, 10, 31), date(2026, 2, 28)),  # clamped to the month's end
        (date(2023, 10, 31), date(2024, 2, 29)),  # leap year
        (date(2025, 9, 30), date(2026, 1, 30)),
        (date(2025, 12, 1), date(2026, 4, 1)),  # across the year
    ],
)
def test_action_plan_review_is_due_four_calendar_months_after_submission(submitted: date, due: date) -> None:
    assert action_plan_review_due(submitted) == due


def test_months_are_configurable() -> None:
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert action_plan_review_due(date(2025, 1, 1), months=6) == date(2025, 7, 1)


# --- the life cycle as a table ---------------------------------------------------------------------

S = ReviewState
NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
TODAY = date(2025, 6, 1)


def _review(state: ReviewState = S.SCHEDULED, due: date = date(2025, 9, 1)) -> Review:
    review, _ = Review.open(
        ReviewKind.ACTION_PLAN_REVIEW, uuid4(), uuid4(), opened_on=date(2025, 5, 1), due_date=due, now=NOW
    )
    review.state = state
    review.draft_url = "https://irm.example.org/draft.pdf"
    if state in (S.PRE_PUBLICATION, S.PUBLIC_COMMENT):
        review.comments_until = TODAY + timedelta(days=5)
    return review


ALLOWED = [
    (S.SCHEDULED, S.RESEARCHING),
    (S.SCHEDULED, S.WITHDRAWN),
    (S.RESEARCHING, S.DRAFT),
    (S.RESEARCHING, S.WITHDRAWN),
    (S.DRAFT, S.PRE_PUBLICATION),
    (S.DRAFT, S.WITHDRAWN),
    (S.PRE_PUBLICATION, S.PUBLIC_COMMENT),
    (S.PRE_PUBLICATION, S.WITHDRAWN),
    (S.PUBLIC_COMMENT, S.PUBLISHED),
    (S.PUBLIC_COMMENT, S.WITHDRAWN),
]


def test_the_transition_table_is_exactly_the_life_cycle() -> None:
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == set(ALLOWED)


def _do(review: Review, to: ReviewState) -> list[object]:
    """Make the move to ``to`` through the aggregate's own method for it."""
    if to is S.RESEARCHING:
        return list(review.assign(Researcher(uuid4(), "r-1", "R. One"), NOW))
    if to is S.DRAFT:
        return list(review.submit_draft("https://irm.example.org/d.pdf", NOW))
    if to is S.PRE_PUBLICATION:
        return list(review.open_pre_publication(TODAY, 21, NOW))
    if to is S.PUBLIC_COMMENT:
        return list(review.open_public_comment(TODAY, 14, NOW))
    if to is S.PUBLISHED:
        return list(
            review.publish(
                title="Report", url="https://irm.example.org/r.pdf", today=TODAY, now=NOW,
                comments_received=0, not_considered=0,
            )
        )  # fmt: skip
    return list(review.withdraw("the plan was withdrawn", NOW))


@pytest.mark.parametrize(("start", "to"), ALLOWED)
def test_each_allowed_move_publishes_state_changed(start: ReviewState, to: ReviewState) -> None:
    review = _review(start)
    events = _do(review, to)
    assert review.state is to
    changed = [e for e in events if isinstance(e, ReviewStateChanged)]
    assert [(c.from_state, c.to_state) for c in changed] == [(start, to)]


REFUSED = [(a, b) for a in S for b in S if (a, b) not in ALLOWED and a is not b and b is not S.SCHEDULED]


@pytest.mark.parametrize(("start", "to"), REFUSED)
def test_every_other_move_is_refused_by_name(start: ReviewState, to: ReviewState) -> None:
    review = _review(start)
    with pytest.raises(RuleViolation) as err:
        _do(review, to)
    assert err.value.rule in {"review.transition_not_allowed", "review.assignment_closed"}
    assert review.state is start


def test_specific_events_of_each_move() -> None:
    review = _review(S.SCHEDULED)
    assert isinstance(_do(review, S.RESEARCHING)[-1], ResearcherAssigned)
    _do(review, S.DRAFT)
    [changed] = review.open_pre_publication(TODAY, 21, NOW)
    assert isinstance(changed, ReviewStateChanged)
    assert changed.comments_until == TODAY + timedelta(days=21) == review.comments_until
    changed, draft = review.open_public_comment(TODAY, 14, NOW)
    assert isinstance(draft, ReviewDraftPublished)
    assert draft.comments_until == TODAY + timedelta(days=14)
    assert draft.draft_url == "https://irm.example.org/d.pdf"
    published = _do(review, S.PUBLISHED)[-1]
    assert isinstance(published, ReviewPublished)
    assert (published.title, published.published_on) == ("Report", TODAY)
    assert isinstance(_do(_review(S.DRAFT), S.WITHDRAWN)[-1], ReviewWithdrawn)


def test_a_researcher_with_a_tie_to_the_member_cannot_be_assigned() -> None:
    review = _review(S.SCHEDULED)
    tied = Researcher(uuid4(), "r-2", "R. Two", frozenset({review.member_id}))
    with pytest.raises(RuleViolation) as err:
        review.assign(tied, NOW)
    assert err.value.rule == "review.researcher_not_independent"
    assert (review.state, review.researcher_id) == (S.SCHEDULED, None)


def test_reassignment_while_researching_does_not_move_the_state() -> None:
    review = _review(S.RESEARCHING)
    [event] = review.assign(Researcher(uuid4(), "r-3", "R. Three"), NOW)
    assert isinstance(event, ResearcherAssigned)
    assert review.state is S.RESEARCHING


def test_publishing_needs_every_comment_considered() -> None:
    review = _review(S.PUBLIC_COMMENT)
    with pytest.raises(RuleViolation) as err:
        review.publish(
            title="R", url="https://x.example/r", today=TODAY, now=NOW, comments_received=2, not_considered=1
        )
    assert err.value.rule == "review.comments_not_considered"
    assert review.state is S.PUBLIC_COMMENT


@pytest.mark.parametrize("url", ["http://irm.example.org/r.pdf", "ftp://x/y", "irm.example.org", "https://"])
def test_urls_must_be_https(url: str) -> None:
    with pytest.raises(Invalid) as err:
        _review(S.PUBLIC_COMMENT).publish(
            title="R", url=url, today=TODAY, now=NOW, comments_received=0, not_considered=0
        )
    assert err.value.errors[0][0] == "url"
    with pytest.raises(Invalid):
        _review(S.RESEARCHING).submit_draft(url, NOW)


@pytest.mark.parametrize(
    ("state", "until_offset", "ok"),
    [
        (S.PRE_PUBLICATION, 0, True),  # the last day is inclusive
        (S.PRE_PUBLICATION, -1, False),
        (S.PUBLIC_COMMENT, 3, True),
        (S.PUBLIC_COMMENT, -1, False),
        (S.DRAFT, 3, False),
        (S.RESEARCHING, 3, False),
        (S.PUBLISHED, 3, False),
    ],
)
def test_the_comment_windows(state: ReviewState, until_offset: int, ok: bool) -> None:
    review = _review(state)
    review.comments_until = TODAY + timedelta(days=until_offset)
    if ok:
        assert review.check_comment_window(TODAY) is state
    else:
        with pytest.raises(RuleViolation) as err:
            review.check_comment_window(TODAY)
        assert err.value.rule == "review.comment_window_closed"


@pytest.mark.parametrize(
    ("days_to_due", "state", "soon", "overdue"),
    [
        (15, S.RESEARCHING, False, False),
        (14, S.RESEARCHING, True, False),
        (0, S.DRAFT, True, False),
        (-1, S.DRAFT, False, True),
        (-1, S.PUBLISHED, False, False),
        (3, S.WITHDRAWN, False, False),
    ],
)
def test_the_clocks(days_to_due: int, state: ReviewState, soon: bool, overdue: bool) -> None:
    review = _review(state, due=TODAY + timedelta(days=days_to_due))
    reminder = review.due_soon(TODAY, 14, NOW)
    assert (reminder is not None) is soon
    if reminder is not None:
        assert reminder.days_left == days_to_due
    assert (review.overdue(TODAY, NOW) is not None) is overdue


@pytest.mark.parametrize(
    ("start", "end", "four_years"),
    [
        (date(2024, 1, 1), date(2028, 1, 1), True),
        (date(2024, 1, 1), date(2027, 10, 1), True),  # 45 months
        (date(2024, 1, 1), date(2027, 9, 30), False),
        (date(2025, 1, 1), date(2027, 1, 1), False),
    ],
)
def test_four_year_plans(start: date, end: date, four_years: bool) -> None:
    assert is_four_year_plan(start, end) is four_years
    plan = SubmittedPlan(uuid4(), uuid4(), "P", start, end, NOW)
    midterm = Review.midterm_review(plan, due_months=4, now=NOW)
    assert (midterm is not None) is four_years
    if midterm is not None:
        review, _ = midterm
        assert review.opened_on == midpoint(start, end)
        assert review.due_date == add_months(review.opened_on, 4)


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2199, 12, 31)),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2199, 12, 31)),
    st.integers(min_value=-120, max_value=120),
)
def test_calendar_months_are_counted_as_dateutil_counts_them(a: date, b: date, months: int) -> None:
    # The IRM's month arithmetic is written out for speed; dateutil's is the reference.
    if date(1901, 1, 1) <= a <= date(2198, 12, 31):
        assert add_months(a, months) == a + relativedelta(months=months)
    delta = relativedelta(b, a)
    assert months_between(a, b) == delta.years * 12 + delta.months

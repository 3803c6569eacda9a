"""The consultation rules without I/O: notice, round transitions, duplicate detection, contact
masking, the rate limiter's refusal, response coverage and the participation breakdown. Each
expected answer is written out as an example."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.consultation.domain.common import redact_contacts, text_hash
from services.consultation.domain.inputs import Counted, check_rate, retry_after
from services.consultation.domain.reports import InputFacts, Profile, breakdown, coverage
from services.consultation.domain.rounds import (
    check_round_transition,
    check_schedule,
    check_takes_input,
    notice,
)
from shared.errors import RateLimited, RuleViolation
from shared.events.consultation import RoundState

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_notice_shorter_than_two_weeks_is_recorded_not_refused() -> None:
    assert notice(T0, T0 + timedelta(days=14), 14).short is False
    short = notice(T0, T0 + timedelta(days=13, hours=23), 14)
    assert short.short is True and short.days == pytest.approx(13.958, abs=0.001)
    assert notice(T0, T0 - timedelta(days=2), 14).days == 0  # opening at once is no notice


def test_schedule_window() -> None:
    check_schedule(T0, T0 + timedelta(hours=1), T0)
    with pytest.raises(RuleViolation) as err:
        check_schedule(T0, T0, T0 - timedelta(days=1))
    assert (err.value.rule, err.value.field, err.value.message) == (
        "round_window", "closes_at", "closes_at must be after opens_at",
    )  # fmt: skip
    with pytest.raises(RuleViolation) as err:
        check_schedule(T0 - timedelta(days=2), T0 - timedelta(days=1), T0)
    assert (err.value.rule, err.value.field, err.value.message) == (
        "round_window", "closes_at", "closes_at must be in the future",
    )  # fmt: skip


SCH, OPN, CLO, CAN = RoundState.SCHEDULED, RoundState.OPEN, RoundState.CLOSED, RoundState.CANCELLED


@pytest.mark.parametrize(
    ("current", "to", "allowed"),
    [
        (SCH, OPN, True), (SCH, CAN, True), (SCH, CLO, False), (SCH, SCH, False),
        (OPN, CLO, True), (OPN, CAN, False), (OPN, SCH, False), (OPN, OPN, False),
        (CLO, OPN, False), (CLO, SCH, False), (CLO, CAN, False), (CLO, CLO, False),
        (CAN, OPN, False), (CAN, SCH, False), (CAN, CLO, False), (CAN, CAN, False),
    ],
)  # fmt: skip
def test_round_state_machine(current: RoundState, to: RoundState, allowed: bool) -> None:
    if allowed:
        check_round_transition(current, to)
    else:
        with pytest.raises(RuleViolation) as refused:
            check_round_transition(current, to)
        assert refused.value.rule == "round_transition"
        assert refused.value.message == f"a {current.value} round cannot become {to.value}"


def test_only_an_open_round_takes_input() -> None:
    check_takes_input(RoundState.OPEN)
    for state, message in (
        (RoundState.SCHEDULED, "the round is scheduled; it takes no input"),
        (RoundState.CLOSED, "the round is closed; it takes no input"),
        (RoundState.CANCELLED, "the round is cancelled; it takes no input"),
    ):
        with pytest.raises(RuleViolation) as err:
            check_takes_input(state)
        assert (err.value.rule, err.value.field, err.value.message) == ("round_not_open", None, message)


def test_duplicates_ignore_case_spacing_and_unicode_forms() -> None:
    assert text_hash("Open  Data", "Publish ALL\ncontracts ") == text_hash(
        "open data", "publish all contracts"
    )
    assert text_hash(None, "ﬁscal") == text_hash("", "fiscal")  # NFKC folds the ligature
    assert text_hash("a", "b c") != text_hash("a b", "c")  # title and body stay apart


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to amel.b+ogp@example.tn today", "write to [e-mail removed] today"),
        ("call +216 71 123 456", "call [phone removed]"),
        ("call (216) 71-123-456", "call [phone removed]"),
        ("or 0021671123456, or 71 123 456", "or [phone removed], or [phone removed]"),
        ("on 12/03/2026 at 10.30", "on 12/03/2026 at 10.30"),
        ("budget rose 12% in 2024 to 3,500,000 dinars", "budget rose 12% in 2024 to 3,500,000 dinars"),
        ("commitment 2024-2026 and law 2016-22", "commitment 2024-2026 and law 2016-22"),
    ],
)
def test_contacts_are_masked_and_figures_kept(text: str, expected: str) -> None:
    assert redact_contacts(text) == expected


@pytest.mark.parametrize(
    ("elapsed", "seconds"),
    [
        (timedelta(seconds=10), 50),
        (timedelta(seconds=59, milliseconds=500), 1),  # rounded up, never 0
        (timedelta(seconds=59, milliseconds=999), 1),
        (timedelta(seconds=20, milliseconds=1), 40),
        (timedelta(seconds=75), 1),  # a window already over still says "retry in 1 s"
    ],
)
def test_retry_after_is_the_rest_of_the_window(elapsed: timedelta, seconds: int) -> None:
    assert retry_after(T0, T0 + elapsed, timedelta(minutes=1)) == seconds


def test_more_than_the_limit_in_a_window_is_refused_with_retry_after() -> None:
    # The window is counted in SQL (tests/unit/consultation/test_rate_window.py); this is the rule
    # applied to the count the repository returns.
    w = timedelta(minutes=1)
    check_rate(Counted(uuid4(), T0, 3), 3, T0 + timedelta(seconds=5), w, exempt=False)
    with pytest.raises(RateLimited) as refused:
        check_rate(Counted(uuid4(), T0, 4), 3, T0 + timedelta(seconds=5), w, exempt=False)
    assert refused.value.retry_after_s == 55
    assert refused.value.message == "too many inputs from you; try again in 55 s"
    check_rate(Counted(uuid4(), T0, 400), 3, T0 + timedelta(seconds=5), w, exempt=True)


def facts(hours: float | None, *, hidden: bool = False, official: bool = False) -> InputFacts:
    answered = T0 + timedelta(hours=hours) if hours is not None else None
    return InputFacts(T0, hidden, official, answered)


def test_coverage_counts_only_visible_participant_inputs() -> None:
    c = coverage([facts(2), facts(10), facts(None), facts(1, hidden=True), facts(None, official=True)])
    assert (c.needing, c.answered, c.ratio, c.median_hours) == (3, 2, 0.6667, 6.0)
    odd = coverage([facts(1), facts(5), facts(30)])
    assert (odd.ratio, odd.median_hours) == (1.0, 5.0)


def test_coverage_with_nothing_to_answer_is_undefined_not_zero() -> None:
    c = coverage([facts(None, official=True), facts(None, hidden=True)])
    assert (c.needing, c.answered, c.ratio, c.median_hours) == (0, 0, None, None)
    unanswered = coverage([facts(None)])
    assert (unanswered.ratio, unanswered.median_hours) == (0.0, None)


@given(
    st.lists(st.tuples(st.one_of(st.none(), st.floats(0, 1000)), st.booleans(), st.booleans()), max_size=50)
)
def test_coverage_is_a_share(items: list[tuple[float | None, bool, bool]]) -> None:
    # A property on top of the examples above: whatever the inputs, a share between 0 and 1.
    c = coverage([facts(h, hidden=hid, official=off) for h, hid, off in items])
    assert 0 <= c.answered <= c.needing <= len(items)
    if c.ratio is not None:
        assert 0.0 <= c.ratio <= 1.0


def test_breakdown_counts_people_and_names_the_undeclared() -> None:
    b = breakdown(
        [
            Profile("civil_society", "Tunis", "woman"),
            Profile("civil_society", None, "man"),
            Profile(None, "Sfax", None),
        ]
    )
    assert b.stakeholder_type == {"civil_society": 2, "not_declared": 1}
    assert b.region == {"Sfax": 1, "Tunis": 1, "not_declared": 1}
    assert b.gender == {"man": 1, "not_declared": 1, "woman": 1}
    assert breakdown([]).gender == {}


def test_small_categories_are_folded_so_no_one_is_singled_out() -> None:
    people = [Profile("civil_society", "TN-11", "woman") for _ in range(5)] + [
        Profile("academia", "TN-61", "man"),
        Profile("private_sector", None, None),
    ]
    b = breakdown(people, min_cell=5)
    assert b.stakeholder_type == {"civil_society": 5, "suppressed": 2}
    assert b.region == {"TN-11": 5, "suppressed": 2}
    assert b.gender == {"suppressed": 2, "woman": 5}
    assert sum(b.gender.values()) == len(people)

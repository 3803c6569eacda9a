"""The consultation rules without I/O: notice, round transitions, duplicate detection, contact
masking, the rate limiter's window, response coverage and the participation breakdown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.consultation.domain import (
    InputFacts,
    Profile,
    RateWindow,
    RuleViolation,
    breakdown,
    check_round_transition,
    check_schedule,
    check_takes_input,
    coverage,
    next_window,
    notice,
    redact_contacts,
    retry_after,
    text_hash,
)
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
    assert err.value.field == "closes_at"
    with pytest.raises(RuleViolation):
        check_schedule(T0 - timedelta(days=2), T0 - timedelta(days=1), T0)


@given(st.sampled_from(list(RoundState)), st.sampled_from(list(RoundState)))
def test_round_state_machine(current: RoundState, to: RoundState) -> None:
    allowed = {
        (RoundState.SCHEDULED, RoundState.OPEN),
        (RoundState.SCHEDULED, RoundState.CANCELLED),
        (RoundState.OPEN, RoundState.CLOSED),
    }
    if (current, to) in allowed:
        check_round_transition(current, to)
    else:
        with pytest.raises(RuleViolation):
            check_round_transition(current, to)


def test_only_an_open_round_takes_input() -> None:
    check_takes_input(RoundState.OPEN)
    for state in (RoundState.SCHEDULED, RoundState.CLOSED, RoundState.CANCELLED):
        with pytest.raises(RuleViolation) as err:
            check_takes_input(state)
        assert err.value.rule == "round_not_open" and err.value.field is None


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


def test_rate_window_is_fixed() -> None:
    w = timedelta(minutes=1)
    first = next_window(None, T0, w)
    assert first == RateWindow(T0, 1)
    second = next_window(first, T0 + timedelta(seconds=59), w)
    assert second == RateWindow(T0, 2)
    assert next_window(second, T0 + w, w) == RateWindow(T0 + w, 1)
    assert retry_after(T0, T0 + timedelta(seconds=59, milliseconds=500), w) == 1
    assert retry_after(T0, T0 + timedelta(seconds=10), w) == 50


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

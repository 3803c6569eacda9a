"""The forum's rules as pure functions: when the next meeting is due (six calendar months, clamped
to the month's end), when a forum is overdue, what "not in the future" means across time zones,
and the standard-1 compliance facts. The overdue timer computes the same in SQL (checked against
these functions in tests/integration/test_consultation_forum.py)."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.consultation.domain.common import check_not_future, latest_local_date
from services.consultation.domain.forum import (
    FORUM_MAX_GAP_MONTHS,
    IMPLEMENTATION_MEETINGS_REQUIRED,
    check_attendance,
    compliance,
    forum_meeting_due,
    forum_overdue,
    occurrence,
)
from shared.errors import RuleViolation
from shared.events.consultation import Sector

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))


def test_the_standards_numbers() -> None:
    assert FORUM_MAX_GAP_MONTHS == 6  # standard 1: at least every six months
    assert IMPLEMENTATION_MEETINGS_REQUIRED == 2  # standard 5: two meetings during implementation


# --- due and overdue -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last", "established", "due"),
    [
        (None, date(2025, 1, 15), date(2025, 7, 15)),
        (None, date(2025, 8, 31), date(2026, 2, 28)),  # no 31 February: the month's end
        (None, date(2023, 8, 31), date(2024, 2, 29)),  # a leap February's end
        (None, date(2025, 3, 31), date(2025, 9, 30)),
        (None, date(2024, 2, 29), date(2024, 8, 29)),
        (date(2025, 9, 1), date(2025, 1, 15), date(2026, 3, 1)),  # the last meeting counts, not the start
        (date(2025, 12, 31), date(2025, 1, 15), date(2026, 6, 30)),
    ],
)
def test_meeting_due_is_six_calendar_months_later(last: date | None, established: date, due: date) -> None:
    assert forum_meeting_due(last, established) == due


def test_due_day_itself_is_not_overdue() -> None:
    established = date(2025, 8, 31)
    assert not forum_overdue(None, established, date(2026, 2, 28))
    assert forum_overdue(None, established, date(2026, 3, 1))
    assert not forum_overdue(None, established, established)
    # A meeting starts a new gap.
    assert not forum_overdue(date(2026, 2, 1), established, date(2026, 3, 1))
    assert forum_overdue(date(2026, 2, 1), established, date(2026, 8, 2))


@pytest.mark.parametrize(
    ("since", "today", "overdue"),
    [
        (date(2025, 1, 15), date(2025, 7, 15), False),  # the due day itself
        (date(2025, 1, 15), date(2025, 7, 16), True),
        (date(2024, 8, 31), date(2025, 2, 28), False),  # due on February's last day
        (date(2024, 8, 31), date(2025, 3, 1), True),
        (date(2023, 8, 31), date(2024, 2, 29), False),  # a leap February
        (date(2023, 8, 31), date(2024, 3, 1), True),
        (date(2025, 6, 1), date(2025, 1, 1), False),  # a day before the gap began
    ],
)
def test_overdue_exactly_after_the_due_day(since: date, today: date, overdue: bool) -> None:
    assert forum_overdue(None, since, today) is overdue


@given(days, days)
def test_overdue_is_after_six_months_whatever_the_days(since: date, today: date) -> None:
    # A property on top of the examples above.
    due = forum_meeting_due(None, since)
    assert forum_overdue(None, since, today) == (today > due)
    assert since < due <= since + timedelta(days=184)  # six months are 181 to 184 days


@pytest.mark.parametrize(
    ("established", "last", "due"),
    [
        (date(2020, 1, 1), date(2025, 9, 1), date(2026, 3, 1)),
        (date(2025, 1, 15), date(2025, 1, 15), date(2025, 7, 15)),
        (date(2025, 1, 31), date(2025, 3, 31), date(2025, 9, 30)),
    ],
)
def test_last_meeting_takes_precedence_over_establishment(established: date, last: date, due: date) -> None:
    assert forum_meeting_due(last, established) == due


def test_occurrence_names_the_gap() -> None:
    from uuid import UUID

    forum_id = UUID("6f1c1b0e-2a57-4f0b-9a8e-3b1f4f5c2d10")
    assert occurrence(forum_id, date(2025, 9, 1)) == "6f1c1b0e-2a57-4f0b-9a8e-3b1f4f5c2d10:2025-09-01"


# --- "not in the future" -------------------------------------------------------------------------


def test_latest_local_date_is_fourteen_hours_ahead_of_utc() -> None:
    assert latest_local_date(datetime(2026, 1, 1, 9, 59, tzinfo=UTC)) == date(2026, 1, 1)
    assert latest_local_date(datetime(2026, 1, 1, 10, 0, tzinfo=UTC)) == date(
        2026, 1, 2
    )  # Kiribati's new day
    # An aware time in another zone is the same instant.
    amman = timezone(timedelta(hours=3))
    assert latest_local_date(datetime(2026, 1, 1, 13, 0, tzinfo=amman)) == date(2026, 1, 2)


def test_not_future_refuses_the_day_after_the_latest_local_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    check_not_future(date(2026, 1, 1), "held_on", now)
    check_not_future(date(2026, 1, 2), "held_on", now)  # already 2 January in Kiribati
    with pytest.raises(RuleViolation) as refused:
        check_not_future(date(2026, 1, 3), "held_on", now)
    assert (refused.value.rule, refused.value.field) == ("date_in_future", "held_on")


# --- compliance and attendance ------------------------------------------------------------------


def test_compliance_needs_both_sectors_public_rules_and_a_recent_meeting() -> None:
    seated = {Sector.GOVERNMENT: 3, Sector.CIVIL_SOCIETY: 4}
    facts = compliance(
        seated, "https://ogp.gov.jo/rules", date(2026, 1, 10), date(2025, 1, 15), date(2026, 3, 1)
    )
    assert (facts.has_government, facts.has_civil_society, facts.rules_public, facts.meets_every_six_months) == (
        True, True, True, True,
    )  # fmt: skip
    facts = compliance(
        {Sector.GOVERNMENT: 3, Sector.CIVIL_SOCIETY: 0}, None, None, date(2025, 1, 15), date(2026, 3, 1)
    )
    assert (facts.has_government, facts.has_civil_society, facts.rules_public, facts.meets_every_six_months) == (
        True, False, False, False,
    )  # fmt: skip
    assert not compliance({}, "https://x.org", None, date(2025, 1, 15), date(2025, 2, 1)).has_government


def test_a_meeting_needs_someone_there() -> None:
    check_attendance({Sector.CIVIL_SOCIETY: 1})
    for empty in ({}, {Sector.GOVERNMENT: 0, Sector.CIVIL_SOCIETY: 0}):
        with pytest.raises(RuleViolation) as refused:
            check_attendance(empty)
        assert (refused.value.rule, refused.value.field, refused.value.message) == (
            "no_attendance", "attendance", "a meeting needs at least one attendee",
        )  # fmt: skip

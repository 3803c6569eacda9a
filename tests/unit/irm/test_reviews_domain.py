from datetime import date

import pytest

from services.irm.domain.reviews import action_plan_review_due, add_months


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

"""The plans timers' rules as the code applies them: the due date a NextPlanOverdue names, the
events built from what the scans find, the states each scan looks at, the lock key and the
settings. The scans themselves (overdue milestones, the yearly repository periods, plans overdue)
are SQL, tested with written-out dates against Postgres in tests/integration/test_plans_timers.py."""

from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from services.plans.domain import deadlines
from services.plans.domain.deadlines import (
    MILESTONE_PLAN_STATES,
    PREVIOUS_PLAN_STATES,
    REPOSITORY_PLAN_STATES,
    next_plan_due,
)
from services.plans.settings import PlansSettings
from services.plans.timers import TIMERS_LOCK
from shared import locks
from shared.events.plans import NextPlanOverdue, PlanState

# --- next plan -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("end", "months", "due"),
    [
        (date(2025, 6, 30), 12, date(2026, 6, 30)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),  # no 29 February next year: the month's end
        (date(2027, 8, 31), 6, date(2028, 2, 29)),  # clamped to a leap February's end
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2025, 3, 15), 0, date(2025, 3, 15)),
    ],
)
def test_next_plan_due_is_calendar_months_later(end: date, months: int, due: date) -> None:
    assert next_plan_due(end, months) == due


def test_next_plan_overdue_names_the_due_day() -> None:
    member, plan = uuid4(), uuid4()
    now = datetime(2028, 3, 1, tzinfo=UTC)
    event = deadlines.next_plan_overdue(
        member_id=member, previous_plan_id=plan, previous_end=date(2027, 8, 31), grace_months=6, now=now
    )
    assert isinstance(event, NextPlanOverdue)
    assert (event.member_id, event.previous_plan_id) == (member, plan)
    assert (event.previous_end_date, event.due_date, event.detected_at) == (
        date(2027, 8, 31),
        date(2028, 2, 29),
        now,
    )


def test_repository_stale_carries_the_period_and_its_count() -> None:
    event = deadlines.repository_stale(
        plan_id=uuid4(), member_id=uuid4(), period_start=date(2025, 3, 10), period_end=date(2026, 3, 10),
        updates=1, now=datetime(2026, 3, 10, tzinfo=UTC),
    )  # fmt: skip
    assert (event.period_start, event.period_end, event.updates_in_period) == (
        date(2025, 3, 10), date(2026, 3, 10), 1,
    )  # fmt: skip


# --- states, keys and configuration ----------------------------------------------------------------------


def test_states_follow_the_documented_rules() -> None:
    assert set(MILESTONE_PLAN_STATES) == {PlanState.SUBMITTED, PlanState.IMPLEMENTING, PlanState.REFRESHING}
    assert PlanState.DRAFT not in PREVIOUS_PLAN_STATES and PlanState.CO_CREATION not in PREVIOUS_PLAN_STATES
    assert PlanState.CLOSED in PREVIOUS_PLAN_STATES
    assert set(REPOSITORY_PLAN_STATES) == {
        PlanState.CO_CREATION,
        PlanState.SUBMITTED,
        PlanState.IMPLEMENTING,
        PlanState.REFRESHING,
        PlanState.ENDED,
    }


def test_the_timers_take_the_platforms_timers_lock() -> None:
    assert TIMERS_LOCK == locks.PLANS_TIMERS
    assert TIMERS_LOCK not in (locks.MIGRATIONS, locks.OUTBOX_RELAY, locks.PLANS_IMPORT)


def test_settings_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    s = PlansSettings()
    assert (s.timers_enabled, s.timers_interval_s, s.next_plan_grace_months) == (True, 60, 12)
    assert s.repository_min_updates_per_year == 2 and s.timers_today is None
    monkeypatch.setenv("PLANS_TIMERS_TODAY", "2030-01-01")
    monkeypatch.setenv("PLANS_TIMERS_ENABLED", "false")
    monkeypatch.setenv("PLANS_TIMERS_INTERVAL_S", "0.5")
    s = PlansSettings()
    assert s.timers_today == date(2030, 1, 1) and not s.timers_enabled and s.timers_interval_s == 0.5

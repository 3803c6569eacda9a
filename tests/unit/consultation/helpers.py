"""Who acts, and a plan with its co-creation space, for the consultation's use-case tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.consultation.domain.rounds import CoCreationSpace, CommitmentSpace, Round
from services.consultation.use_cases import rounds
from shared.auth import Principal
from shared.errors import DomainError
from shared.events.consultation import RoundKind, RoundState
from tests.fakes.consultation import FakeConsultationUnitOfWork

MEMBER = UUID("0b9e4a3e-5c1f-4a57-9f0e-2f3c4d5e6f70")
STAFF = Principal("ogp-staff", frozenset({"staff"}), frozenset())
GOVERNMENT = Principal("gov-jo", frozenset({"government"}), frozenset({MEMBER}))
OTHER_GOVERNMENT = Principal("gov-tn", frozenset({"government"}), frozenset({uuid4()}))
MODERATOR = Principal("mod-1", frozenset({"moderator"}), frozenset())


def person(n: int) -> Principal:
    return Principal(f"person-{n}", frozenset({"participant"}), frozenset())


def now() -> datetime:
    return datetime.now(UTC)


def with_plan(*, state: str = "open") -> tuple[FakeConsultationUnitOfWork, UUID, UUID]:
    """A unit of work knowing one plan of ``MEMBER`` and one of its commitments."""
    uow = FakeConsultationUnitOfWork()
    plan_id, commitment_id = uuid4(), uuid4()
    uow.tables.spaces[plan_id] = CoCreationSpace(plan_id, MEMBER, "Plan 2025", state, opened_at=now())
    uow.tables.commitments[commitment_id] = CommitmentSpace(
        commitment_id, plan_id, 1, "Open contracts", now()
    )
    return uow, plan_id, commitment_id


async def scheduled_round(
    uow: FakeConsultationUnitOfWork, plan_id: UUID, *, opens_in: timedelta = timedelta(days=20), **over: Any
) -> Round:
    opens = now() + opens_in
    cmd = rounds.ScheduleRound(
        STAFF, plan_id, RoundKind.IDEAS, "Ideas", opens, opens + timedelta(days=10), 14
    )
    cmd = replace(cmd, **over)
    rnd = await rounds.schedule_round(uow, cmd)
    uow.events.clear()
    return rnd


async def open_round(uow: FakeConsultationUnitOfWork, plan_id: UUID, **over: Any) -> Round:
    """A round open now (scheduled, then its opening time moved to the past and the timer run)."""
    rnd = await scheduled_round(uow, plan_id, **over)
    stored = uow.tables.rounds[rnd.id]
    stored.opens_at = now() - timedelta(minutes=1)
    assert await rounds.open_due_rounds(uow, rounds.OpenDueRounds(10)) == 1
    uow.events.clear()
    assert uow.tables.rounds[rnd.id].state is RoundState.OPEN
    return uow.tables.rounds[rnd.id]


def refused(err: pytest.ExceptionInfo[DomainError], uow: FakeConsultationUnitOfWork) -> DomainError:
    """The refusal, once it is known that nothing was published."""
    assert uow.events == [], uow.events
    return err.value

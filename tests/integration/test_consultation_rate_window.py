"""The rate limiter's fixed window, as the repository counts it in Postgres (its one definition).

Needs the test session's Postgres, not Kafka. The use cases' refusal on top of the count is in
tests/unit/consultation/test_inputs_use_cases.py and test_rules.py.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from devstack.postgres import PostgresCluster
from services.consultation.store import SERVICE, PgConsultationUnitOfWork
from shared.db import SHARED_MIGRATIONS, create_pool, load_migrations, migrate
from shared.uow import unit_of_work

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "consultation" / "migrations"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=1)


@pytest.fixture
async def pool(pg: PostgresCluster) -> AsyncIterator[asyncpg.Pool]:
    name = f"consultation_window_{uuid.uuid4().hex[:10]}"
    pg.create_database(name)
    pool = await create_pool(pg.dsn(name), min_size=1, max_size=2)
    await migrate(pool, load_migrations(("shared", SHARED_MIGRATIONS), ("consultation", MIGRATIONS)))
    yield pool
    await pool.close()


async def count(pool: asyncpg.Pool, subject: str, at: datetime) -> tuple[datetime, int]:
    async with unit_of_work(pool, SERVICE, PgConsultationUnitOfWork) as uow:
        counted = await uow.participants.count(subject, at, WINDOW)
    return counted.window_start, counted.count


async def test_the_window_is_fixed_from_its_first_action(pool: asyncpg.Pool) -> None:
    assert await count(pool, "amel", T0) == (T0, 1)
    assert await count(pool, "amel", T0 + timedelta(seconds=30)) == (T0, 2)
    assert await count(pool, "amel", T0 + timedelta(seconds=59, milliseconds=999)) == (T0, 3)
    # The window has run out at T0 + 1 min exactly: the action starts a new one.
    assert await count(pool, "amel", T0 + WINDOW) == (T0 + WINDOW, 1)
    assert await count(pool, "amel", T0 + WINDOW + timedelta(seconds=1)) == (T0 + WINDOW, 2)
    # Long after, a fresh window again; and each person has their own.
    later = T0 + timedelta(hours=3)
    assert await count(pool, "amel", later) == (later, 1)
    assert await count(pool, "karim", T0 + timedelta(seconds=30)) == (T0 + timedelta(seconds=30), 1)


async def test_posting_counts_in_the_same_window_and_a_closed_round_counts_nothing(
    pool: asyncpg.Pool,
) -> None:
    plan_id, round_id = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    await pool.execute(
        "INSERT INTO co_creation_spaces (plan_id, member_id, state) VALUES ($1, $2, 'open')",
        plan_id,
        uuid.uuid4(),
    )
    await pool.execute(
        """INSERT INTO rounds (id, plan_id, member_id, kind, title, opens_at, closes_at, scheduled_at,
                               notice_days, short_notice, state, created_by)
           VALUES ($1, $2, $3, 'ideas', 'Ideas', $4, $5, $4, 0, true, 'open', 'test')""",
        round_id, plan_id, uuid.uuid4(), now - timedelta(hours=1), now + timedelta(hours=1),
    )  # fmt: skip
    async with unit_of_work(pool, SERVICE, PgConsultationUnitOfWork) as uow:
        first = await uow.inputs.target(round_id, "amel", now, WINDOW)
        second = await uow.inputs.target(round_id, "amel", now + timedelta(seconds=1), WINDOW)
        flag = await uow.participants.count("amel", now + timedelta(seconds=2), WINDOW)
        late = await uow.inputs.target(round_id, "amel", now + timedelta(hours=2), WINDOW)
    assert first is not None and first.counted is not None and first.counted.count == 1
    assert second is not None and second.counted is not None
    assert (second.counted.window_start, second.counted.count) == (now, 2)
    assert (flag.participant_id, flag.count) == (first.counted.participant_id, 3)  # flags share the window
    assert late is not None and late.state.value == "closed" and late.counted is None

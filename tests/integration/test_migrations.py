"""Migrations against the real database: replicas starting together, edited files refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from shared.db import Migration, MigrationError, create_pool, load_migrations, migrate, pending_migrations
from tests.conftest import Env


async def test_two_replicas_migrating_at_once_apply_each_file_once(env: Env, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    # A slow first file widens the window in which the second replica arrives.
    (folder / "0001_slow.sql").write_text("SELECT pg_sleep(0.5); CREATE TABLE a (id int);")
    (folder / "0002_next.sql").write_text("CREATE TABLE b (id int);")
    dsn = env.database("migrations")
    pools = [await create_pool(dsn), await create_pool(dsn)]
    try:
        migrations = load_migrations(("svc", folder))
        applied = await asyncio.gather(*(migrate(p, migrations) for p in pools))
        assert sorted(len(a) for a in applied) == [0, 2]  # one replica did all, the other none
        assert await pools[0].fetchval("SELECT count(*) FROM schema_migrations") == 2
        assert await pending_migrations(pools[0], migrations) == []
    finally:
        for p in pools:
            await p.close()


async def test_an_applied_migration_that_was_edited_stops_the_start(env: Env) -> None:
    pool = await create_pool(env.database("edited"))
    try:
        await migrate(pool, [Migration("svc:0001_a", "CREATE TABLE a (id int);")])
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await migrate(pool, [Migration("svc:0001_a", "CREATE TABLE a (id bigint);")])
    finally:
        await pool.close()


async def test_a_failing_migration_leaves_nothing_half_applied(env: Env) -> None:
    pool = await create_pool(env.database("failing"))
    try:
        with pytest.raises(Exception, match="nonexistent"):
            await migrate(
                pool, [Migration("svc:0001_bad", "CREATE TABLE ok (id int); SELECT * FROM nonexistent;")]
            )
        assert await pool.fetchval("SELECT to_regclass('ok')") is None
        assert await pool.fetchval("SELECT count(*) FROM schema_migrations") == 0
    finally:
        await pool.close()


#: The query behind the check below: every ``date`` column of a service's tables, and whether a
#: CHECK constraint of its table mentions ``isfinite(<column>)``.
_DATE_COLUMNS = """
SELECT c.table_name, c.column_name,
       EXISTS (SELECT 1 FROM pg_constraint k
               WHERE k.conrelid = (quote_ident(c.table_name))::regclass AND k.contype = 'c'
                 AND pg_get_constraintdef(k.oid) LIKE '%isfinite(' || c.column_name || ')%') AS checked
FROM information_schema.columns c
WHERE c.table_schema = 'public' AND c.data_type = 'date'
ORDER BY 1, 2
"""


@pytest.mark.parametrize("service", ["plans", "consultation", "irm", "notifications"])
async def test_no_date_column_can_hold_infinity(env: Env, service: str) -> None:
    """asyncpg writes ``date.max`` as ``infinity`` and an answer then says "infinity", which no
    client parses as a date. The APIs refuse such dates, but events feed the stores too: every
    date column is checked by the database itself, whoever writes it."""
    from shared.runtime import Runtime, ServiceSpec

    specs: dict[str, ServiceSpec] = {}
    for name in ("plans", "consultation", "irm", "notifications"):
        module = __import__(f"services.{name}.service", fromlist=["SPEC"])
        specs[name] = module.SPEC
    pool = await create_pool(env.database(f"finite_{service}"))
    try:
        await migrate(pool, Runtime(specs[service], None).migrations())  # type: ignore[arg-type]
        unchecked = [
            (r["table_name"], r["column_name"]) for r in await pool.fetch(_DATE_COLUMNS) if not r["checked"]
        ]
    finally:
        await pool.close()
    assert unchecked == [], unchecked

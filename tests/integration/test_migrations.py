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

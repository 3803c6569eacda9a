"""Postgres access: the asyncpg pool and ordered plain-SQL migrations.

Migrations are plain ``NNNN_name.sql`` files applied in order and recorded with a checksum. An
advisory lock serialises them, so two replicas starting at once never apply the same file twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from shared import locks
from shared.logging import get_logger

log = get_logger(__name__)

SHARED_MIGRATIONS = Path(__file__).parent / "migrations"


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Skip asyncpg's reset query (RESET ALL, UNLISTEN *, unlock all...) on every release.

    Pooled connections never change session state: LISTEN and long-held advisory locks use
    dedicated connections, the migrator unlocks in ``finally``. The round trip saved is paid on
    every request otherwise."""


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=_keep_session,
        command_timeout=30,
    )
    assert pool is not None
    return pool


@dataclass(frozen=True, slots=True)
class Migration:
    id: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(*folders: tuple[str, Path]) -> list[Migration]:
    """Migrations of each (namespace, folder) pair in file-name order; namespaces keep the shared
    platform tables and a service's own tables in separate sequences."""
    out: list[Migration] = []
    for namespace, folder in folders:
        for path in sorted(folder.glob("*.sql")):
            out.append(Migration(f"{namespace}:{path.stem}", path.read_text()))
    return out


class MigrationError(RuntimeError):
    pass


async def migrate(pool: asyncpg.Pool, migrations: Sequence[Migration]) -> list[str]:
    """Apply what is missing; refuse to start when an applied file was edited afterwards."""
    applied_now: list[str] = []
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", locks.MIGRATIONS)
        try:
            await conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       id text PRIMARY KEY,
                       checksum text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            done = {
                r["id"]: r["checksum"] for r in await conn.fetch("SELECT id, checksum FROM schema_migrations")
            }
            for m in migrations:
                if m.id in done:
                    if done[m.id] != m.checksum:
                        raise MigrationError(f"migration {m.id} changed after it was applied")
                    continue
                async with conn.transaction():
                    await conn.execute(m.sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (id, checksum) VALUES ($1, $2)",
                        m.id,
                        m.checksum,
                    )
                applied_now.append(m.id)
                log.info("migration applied", migration=m.id)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", locks.MIGRATIONS)
    return applied_now


async def pending_migrations(pool: asyncpg.Pool, migrations: Sequence[Migration]) -> list[str]:
    async with pool.acquire() as conn:
        exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
        done: set[str] = set()
        if exists:
            done = {r["id"] for r in await conn.fetch("SELECT id FROM schema_migrations")}
    return [m.id for m in migrations if m.id not in done]


#: A row as the read side (and the importer) hands it on: column name → value. Write-side code
#: works with the domain's typed aggregates instead.
Row = dict[str, Any]


def row_to_dict(row: asyncpg.Record | None) -> Row | None:
    return dict(row) if row is not None else None

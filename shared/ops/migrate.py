"""Applying the service's migrations alone (a Kubernetes Job, an init step), or checking them.

The migrator takes a session-level advisory lock: it needs a direct connection to Postgres (or
PgBouncer in session mode), never a transaction-mode pooler.
"""

from __future__ import annotations

from shared.db import SHARED_MIGRATIONS, Migration, create_pool, load_migrations, migrate, pending_migrations
from shared.ops.context import OpsContext, service_spec


def migrations_of(service: str) -> list[Migration]:
    spec = service_spec(service)
    return load_migrations(("shared", SHARED_MIGRATIONS), (spec.name, spec.migrations))


async def pending(ctx: OpsContext) -> list[str]:
    pool = await create_pool(ctx.settings.database_url, min_size=1, max_size=1)
    try:
        return await pending_migrations(pool, migrations_of(ctx.service))
    finally:
        await pool.close()


async def apply(ctx: OpsContext) -> list[str]:
    pool = await create_pool(ctx.settings.database_url, min_size=1, max_size=1)
    try:
        return await migrate(pool, migrations_of(ctx.service))
    finally:
        await pool.close()

"""The consultation's read side: SQL that builds the public JSON, lists, pages, tables and the
participation figures. No domain objects; nothing here writes.

Each function takes anything that runs a query: the pool, or a connection (the write side reads
the live response table and the report figures in its own transaction through these)."""

from __future__ import annotations

from typing import TypeAlias

import asyncpg

#: The pool (a read of its own), or a connection (inside a transaction).
Conn: TypeAlias = "asyncpg.Connection | asyncpg.pool.PoolConnectionProxy[asyncpg.Record] | asyncpg.Pool"

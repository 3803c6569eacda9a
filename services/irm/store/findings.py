"""Findings' repository: acting contrary to process, by member and cycle, and procedural reviews."""

from __future__ import annotations

from typing import Protocol

from shared.uow import UnitOfWork


class Findings(Protocol):
    """To be filled with the findings' repository methods."""


class PgFindings:
    def __init__(self, uow: UnitOfWork) -> None:
        self._conn = uow.conn

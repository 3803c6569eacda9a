"""Assessments' repository: commitments as the IRM knows them and their coding on versioned scales."""

from __future__ import annotations

from typing import Protocol

from shared.uow import UnitOfWork


class Assessments(Protocol):
    """To be filled with the assessments' repository methods."""


class PgAssessments:
    def __init__(self, uow: UnitOfWork) -> None:
        self._conn = uow.conn

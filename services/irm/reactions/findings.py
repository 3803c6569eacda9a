"""Reactions of the IRM's findings."""

from __future__ import annotations

from services.irm.settings import IrmSettings
from services.irm.store import IrmUnitOfWork
from shared.reactions import Reactions


def register(on: Reactions[IrmUnitOfWork], settings: IrmSettings) -> None:
    """None yet."""

"""The part of a fake unit of work every service shares: collected events and savepoints."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from shared.events.base import Event


class FakeUnitOfWork:
    """Events published are collected in ``events`` (what would reach the outbox).

    A subclass sets its in-memory repositories as attributes; :meth:`savepoint` snapshots them
    (and the events) and restores both when the block fails, as the real nested transaction does.
    """

    def __init__(self) -> None:
        self.events: list[Event] = []

    def publish(self, event: Event, *, time: datetime | None = None, cause: object = None) -> None:
        self.events.append(event)

    def of_type(self, kind: type[Any]) -> list[Any]:
        """The published events of one type, in order."""
        return [e for e in self.events if isinstance(e, kind)]

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        state = {k: copy.deepcopy(v) for k, v in vars(self).items() if k != "events"}
        mark = len(self.events)
        try:
            yield
        except BaseException:
            vars(self).update(state)
            del self.events[mark:]
            raise

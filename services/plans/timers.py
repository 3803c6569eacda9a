"""Timers of the plans service (MilestoneOverdue, NextPlanOverdue, RepositoryStale)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.runtime import Runtime


async def timer_loop(runtime: Runtime) -> None:
    """Background task; returns when ``runtime.stopping`` is set."""
    await runtime.stopping.wait()

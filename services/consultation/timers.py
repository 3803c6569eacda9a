"""Timers of the consultation service: rounds open and close at their set times, an open round
is announced once when it closes within ``closing_soon_days`` (``ConsultationClosingSoon``), and a
forum that has not met for six months is reported (``ForumMeetingOverdue``).

Everything a timer does is a use case whose change is committed with its event, so restarts,
crashes and two runners at once never open, close or report anything twice; the timers keep no
state of their own, so a round due while the service was down opens (and closes) at the next
start. One replica runs them (:mod:`shared.leader`); it sleeps until the next round is due, at
most ``timers_interval_s``, and wakes at once when a round is scheduled (NOTIFY).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from prometheus_client import Counter

from services.consultation.queries.rounds import seconds_until_next_due
from services.consultation.settings import ConsultationSettings
from services.consultation.store import ConsultationUnitOfWork
from services.consultation.store.rounds import TIMERS_CHANNEL
from services.consultation.use_cases import forum, rounds
from shared.leader import LeaderRunner, run_as_leader
from shared.locks import CONSULTATION_TIMERS

if TYPE_CHECKING:
    from shared.runtime import Runtime

TIMER_ACTIONS = Counter(
    "sharaka_consultation_timer_actions_total",
    "Rounds opened/closed/announced as closing soon and forum gaps reported",
    ["action"],
)
for _action in ("round_opened", "round_closed", "closing_soon", "forum_meeting_overdue"):
    TIMER_ACTIONS.labels(action=_action)


async def open_due(rt: Runtime, limit: int) -> int:
    uow: ConsultationUnitOfWork
    async with rt.uow() as uow:
        return await rounds.open_due_rounds(uow, rounds.OpenDueRounds(limit))


async def close_due(rt: Runtime, limit: int, min_cell: int) -> int:
    uow: ConsultationUnitOfWork
    async with rt.uow() as uow:
        return await rounds.close_due_rounds(uow, rounds.CloseDueRounds(limit, min_cell))


async def announce_closing_soon(rt: Runtime, limit: int, days: int, now: datetime | None = None) -> int:
    """One batch of ``ConsultationClosingSoon``; ``now`` overrides the clock (tests)."""
    uow: ConsultationUnitOfWork
    async with rt.uow() as uow:
        return await rounds.announce_closing_soon(uow, rounds.AnnounceClosingSoon(limit, days, now))


async def emit_forum_overdue(
    rt: Runtime,
    today: date,
    settings: ConsultationSettings,
    should_continue: Callable[[], bool] = lambda: True,
) -> int:
    """Emit ``ForumMeetingOverdue`` for every gap due on ``today`` not emitted before.

    A forum is overdue when ``today`` is after six calendar months from its last meeting (or its
    establishment): :func:`domain.forum.forum_overdue`, computed in SQL for every forum at once.
    Safe to call again after a crash and from several processes at once. Works in batches of
    ``settings.timers_batch_size``, one transaction each, and asks ``should_continue`` before
    each, so a runner that lost its leadership or is stopping ends early. Returns the number of
    events emitted."""
    total = 0
    batch = forum.ReportOverdueForums(today, settings.timers_batch_size)
    uow: ConsultationUnitOfWork
    while should_continue():
        async with rt.uow() as uow:
            done = await forum.report_overdue_forums(uow, batch)
        total += done.emitted
        # A short batch means nothing is left; a batch that emitted nothing lost every race, and
        # looking again at once would find the same rows: the next pass will.
        if done.found < settings.timers_batch_size or done.emitted == 0:
            break
    return total


async def run_timers(
    rt: Runtime,
    settings: ConsultationSettings,
    *,
    today: date | None = None,
    should_continue: Callable[[], bool] = lambda: True,
) -> dict[str, int]:
    """One pass: open due rounds, then close due rounds (a round whose whole window passed while
    the service was down opens and closes in the same pass), then announce the rounds closing
    soon (after closing, so a round already over is closed, not announced), then the forum
    check."""
    counts = {"round_opened": 0, "round_closed": 0, "closing_soon": 0, "forum_meeting_overdue": 0}
    steps: tuple[tuple[str, Callable[[], Awaitable[int]]], ...] = (
        ("round_opened", lambda: open_due(rt, settings.timers_batch_size)),
        (
            "round_closed",
            lambda: close_due(rt, settings.timers_batch_size, settings.participation_min_cell),
        ),
        (
            "closing_soon",
            lambda: announce_closing_soon(rt, settings.timers_batch_size, settings.closing_soon_days),
        ),
    )
    for action, step in steps:
        while should_continue():
            done = await step()
            counts[action] += done
            if done < settings.timers_batch_size:
                break
    if should_continue():
        day = today or settings.today()
        counts["forum_meeting_overdue"] = await emit_forum_overdue(rt, day, settings, should_continue)
    for action, n in counts.items():
        TIMER_ACTIONS.labels(action=action).inc(n)
    return counts


def timer_runner(rt: Runtime, settings: ConsultationSettings) -> LeaderRunner:
    async def work(should_continue: Callable[[], bool]) -> dict[str, int]:
        return await run_timers(rt, settings, should_continue=should_continue)

    async def next_wait() -> float | None:
        return await seconds_until_next_due(rt.pool, timedelta(days=settings.closing_soon_days))

    return LeaderRunner(
        job="consultation-timers",
        dsn=settings.database_url,
        lock_key=CONSULTATION_TIMERS,
        work=work,
        interval_s=settings.timers_interval_s,
        lock_retry_s=settings.timers_lock_retry_s,
        next_wait=next_wait,
        listen=TIMERS_CHANNEL,
    )


async def timer_loop(runtime: Runtime) -> None:
    """Background task of the consultation service; returns when ``runtime.stopping`` is set."""
    settings = ConsultationSettings.of(runtime.settings)
    if not settings.timers_enabled:
        await runtime.stopping.wait()
        return
    await run_as_leader(timer_runner(runtime, settings), runtime.stopping)

"""Timers of the IRM service: a draft's pre-publication window ends and it goes to public comment;
a review is due soon (``ReviewDueSoon``) or overdue (``ReviewOverdue``).

Everything a timer does is a use case whose change (or claim, for the reports) is committed with
its event, so restarts, crashes and two runners at once never move or report anything twice; the
timers keep no state of their own, so what fell due while the service was down is done at the next
start. One replica runs them (:mod:`shared.leader`, :data:`shared.locks.IRM_TIMERS`). The clocks
are days, so a pass every ``timers_interval_s`` is enough.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

from prometheus_client import Counter

from services.irm.settings import IrmSettings
from services.irm.store import IrmUnitOfWork
from services.irm.use_cases import reviews
from shared.leader import LeaderRunner, run_as_leader
from shared.locks import IRM_TIMERS

if TYPE_CHECKING:
    from shared.runtime import Runtime

TIMER_ACTIONS = Counter(
    "sharaka_irm_timer_actions_total", "Drafts moved to public comment, reviews reported due soon or overdue",
    ["action"],
)  # fmt: skip
ACTIONS = ("public_comment_opened", reviews.DUE_SOON, reviews.OVERDUE)
for _action in ACTIONS:
    TIMER_ACTIONS.labels(action=_action)


async def end_windows(rt: Runtime, settings: IrmSettings, today: date) -> int:
    uow: IrmUnitOfWork
    async with rt.uow() as uow:
        return await reviews.end_pre_publication_windows(
            uow,
            reviews.EndPrePublicationWindows(today, settings.public_comment_days, settings.timers_batch_size),
        )


async def report(
    rt: Runtime, settings: IrmSettings, kind: reviews.ReportKind, today: date
) -> reviews.Reported:
    uow: IrmUnitOfWork
    async with rt.uow() as uow:
        return await reviews.report_due(
            uow, reviews.ReportDue(kind, today, settings.reminder_days, settings.timers_batch_size)
        )


async def run_timers(
    rt: Runtime,
    settings: IrmSettings,
    *,
    today: date | None = None,
    should_continue: Callable[[], bool] = lambda: True,
) -> dict[str, int]:
    """One pass, in batches of ``timers_batch_size`` (one transaction each), asking
    ``should_continue`` before each so a runner that lost its lock or is stopping ends early."""
    day = today or settings.today()
    counts = dict.fromkeys(ACTIONS, 0)
    while should_continue():
        moved = await end_windows(rt, settings, day)
        counts["public_comment_opened"] += moved
        if moved < settings.timers_batch_size:
            break
    kind: reviews.ReportKind
    for kind in (reviews.DUE_SOON, reviews.OVERDUE):
        while should_continue():
            done = await report(rt, settings, kind, day)
            counts[kind] += done.emitted
            # A short batch means nothing is left; a batch that emitted nothing lost every race.
            if done.found < settings.timers_batch_size or done.emitted == 0:
                break
    for action, n in counts.items():
        TIMER_ACTIONS.labels(action=action).inc(n)
    return counts


def timer_runner(rt: Runtime, settings: IrmSettings) -> LeaderRunner:
    async def work(should_continue: Callable[[], bool]) -> dict[str, int]:
        return await run_timers(rt, settings, should_continue=should_continue)

    return LeaderRunner(
        job="irm-timers",
        dsn=settings.database_url,
        lock_key=IRM_TIMERS,
        work=work,
        interval_s=settings.timers_interval_s,
        lock_retry_s=settings.timers_lock_retry_s,
    )


async def timer_loop(runtime: Runtime) -> None:
    """Background task of the IRM service; returns when ``runtime.stopping`` is set."""
    settings = IrmSettings.of(runtime.settings)
    if not settings.timers_enabled:
        await runtime.stopping.wait()
        return
    await run_as_leader(timer_runner(runtime, settings), runtime.stopping)

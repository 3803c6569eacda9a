"""Consultation rounds (standard 3): scheduled with notice, opened and closed by the service.

Opening and closing change rows the caller holds ``FOR UPDATE``, in the same transaction as their
event, so a round opens and closes exactly once however many runners or restarts there are.
Closing takes the round's row ``FOR UPDATE``, which waits for every input transaction that holds
it ``FOR KEY SHARE``: an input is either in the closed round's counts or refused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from services.consultation.domain.common import Actor, check_acts_for
from services.consultation.domain.rounds import CoCreationSpace, OfflineEvent, Round, check_round_request
from services.consultation.store import ConsultationUnitOfWork
from services.consultation.use_cases.reports import publish_report
from shared.errors import Invalid, NotFound
from shared.events.consultation import RoundKind, RoundState, Sector
from shared.logging import get_logger

log = get_logger(__name__)

_Act = Callable[[Round], Awaitable[None]]


async def space_for_edit(uow: ConsultationUnitOfWork, who: Actor, plan_id: UUID) -> CoCreationSpace:
    space = await uow.spaces.get(plan_id, lock="share")
    if space is None:
        raise NotFound(f"plan {plan_id}")
    check_acts_for(who, space.member_id, f"run the consultation of plan {plan_id}")
    return space


async def round_for_edit(
    uow: ConsultationUnitOfWork, who: Actor, round_id: UUID, *, for_update: bool = False
) -> Round:
    rnd = await uow.rounds.get(round_id, for_update=for_update)
    if rnd is None:
        raise NotFound(f"round {round_id}")
    check_acts_for(who, rnd.member_id, f"run the consultation of plan {rnd.plan_id}")
    return rnd


@dataclass(frozen=True, slots=True)
class ScheduleRound:
    who: Actor
    plan_id: UUID
    kind: RoundKind
    title: str
    opens_at: datetime
    closes_at: datetime
    notice_days_required: int
    description: str | None = None
    commitment_id: UUID | None = None


async def schedule_round(uow: ConsultationUnitOfWork, cmd: ScheduleRound) -> Round:
    """Announce a round; it opens and closes by itself at the set times (the timers are woken
    when it commits, in case it is due before their next pass)."""
    now = datetime.now(UTC)
    check_round_request(cmd.kind, cmd.commitment_id, cmd.opens_at, cmd.closes_at, now)
    space = await space_for_edit(uow, cmd.who, cmd.plan_id)
    space.check_takes_rounds()
    if cmd.commitment_id is not None and not await uow.commitments.belongs(cmd.commitment_id, cmd.plan_id):
        raise Invalid("commitment_id", f"plan {cmd.plan_id} has no commitment {cmd.commitment_id}")
    rnd, events = Round.schedule(
        space, kind=cmd.kind, commitment_id=cmd.commitment_id, title=cmd.title, description=cmd.description,
        opens_at=cmd.opens_at, closes_at=cmd.closes_at, notice_days_required=cmd.notice_days_required,
        now=now, by=cmd.who.subject,
    )  # fmt: skip
    await uow.rounds.add(rnd)
    for event in events:
        uow.publish(event)
    return rnd


async def close_round(uow: ConsultationUnitOfWork, rnd: Round, *, reason: str, min_cell: int | None) -> Round:
    """Close an open round (or cancel a scheduled one) the caller holds ``FOR UPDATE``. A round
    that ran publishes its participation report with its closing, for the IRM (``min_cell=None``:
    no report)."""
    submissions, comments = await uow.rounds.input_counts(rnd.id)
    events = rnd.close(datetime.now(UTC), reason, submissions=submissions, comments=comments)
    await uow.rounds.save(rnd)
    for event in events:
        uow.publish(event)
    if min_cell is not None and rnd.state is RoundState.CLOSED:
        await publish_report(uow, min_cell=min_cell, round_id=rnd.id)
    return rnd


@dataclass(frozen=True, slots=True)
class CancelRound:
    who: Actor
    round_id: UUID


async def cancel_round(uow: ConsultationUnitOfWork, cmd: CancelRound) -> Round:
    """A round that has not opened yet may be called off; an open one runs to its end (409)."""
    rnd = await round_for_edit(uow, cmd.who, cmd.round_id, for_update=True)
    rnd.check_cancel()
    return await close_round(uow, rnd, reason="cancelled", min_cell=None)


@dataclass(frozen=True, slots=True)
class OpenDueRounds:
    limit: int


async def open_due_rounds(uow: ConsultationUnitOfWork, cmd: OpenDueRounds) -> int:
    """Open the rounds whose time has come; returns how many were opened."""
    now = datetime.now(UTC)

    async def open_one(rnd: Round) -> None:
        for event in rnd.open(now):
            uow.publish(event)
        await uow.rounds.save(rnd)

    rounds = await uow.rounds.due(RoundState.SCHEDULED, cmd.limit, now)
    return await _each(uow, rounds, open_one)


@dataclass(frozen=True, slots=True)
class CloseDueRounds:
    limit: int
    min_cell: int


async def close_due_rounds(uow: ConsultationUnitOfWork, cmd: CloseDueRounds) -> int:
    """Close the open rounds whose time is up; returns how many were closed.

    The lock is a plain ``FOR UPDATE``: it waits for the inputs being written into the round
    (they hold its row ``FOR KEY SHARE``) rather than skipping a busy round, which under steady
    traffic would never be free. Only the elected runner gets here, so nothing else competes."""

    async def close_one(rnd: Round) -> None:
        await close_round(uow, rnd, reason="closed_on_schedule", min_cell=cmd.min_cell)

    rounds = await uow.rounds.due(RoundState.OPEN, cmd.limit, datetime.now(UTC))
    return await _each(uow, rounds, close_one)


@dataclass(frozen=True, slots=True)
class AnnounceClosingSoon:
    limit: int
    #: Announce rounds that close within this many days.
    days: int
    #: The clock (tests and "what would be announced then?"); now when None.
    now: datetime | None = None


async def announce_closing_soon(uow: ConsultationUnitOfWork, cmd: AnnounceClosingSoon) -> int:
    """Publish ``ConsultationClosingSoon`` for open rounds that close within ``cmd.days`` days and
    were not announced yet; returns how many were announced. The round's ``closing_soon_at`` is
    set with the event, so it is announced once across restarts and runners. A round that closes
    before a pass could announce it (a short window, the service down) is not announced late."""
    now = cmd.now or datetime.now(UTC)
    within = timedelta(days=cmd.days)

    async def announce(rnd: Round) -> None:
        events = rnd.closing_soon(now, within)
        if events:
            await uow.rounds.save_closing_soon(rnd)
        for event in events:
            uow.publish(event)

    rounds = await uow.rounds.closing_soon(now, within, cmd.limit)
    return await _each(uow, rounds, announce)


async def _each(uow: ConsultationUnitOfWork, rounds: list[Round], act: _Act) -> int:
    done = 0
    for rnd in rounds:
        # One round that cannot be handled (a bug, bad data) must not hold back the others:
        # it is rolled back alone, logged, and tried again at the next pass.
        try:
            async with uow.savepoint():
                await act(rnd)
            done += 1
        except Exception as exc:
            log.error("round timer failed", round_id=str(rnd.id), error_type=type(exc).__name__)
    return done


@dataclass(frozen=True, slots=True)
class RecordOfflineEvent:
    who: Actor
    round_id: UUID
    format: str
    held_on: date
    participants: int
    by_sector: dict[Sector, int] = field(default_factory=dict)
    report_url: str | None = None


async def record_offline_event(uow: ConsultationUnitOfWork, cmd: RecordOfflineEvent) -> OfflineEvent:
    """A workshop or hearing held off the platform, with how many took part."""
    rnd = await round_for_edit(uow, cmd.who, cmd.round_id)
    offline, events = rnd.record_offline_event(
        format=cmd.format, held_on=cmd.held_on, participants=cmd.participants, by_sector=cmd.by_sector,
        report_url=cmd.report_url, now=datetime.now(UTC), by=cmd.who.subject,
    )  # fmt: skip
    await uow.rounds.add_offline_event(offline)
    for event in events:
        uow.publish(event)
    return offline

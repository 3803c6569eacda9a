"""The consultation's unit of work in memory.

The repositories share one :class:`Tables` (what the database holds); a savepoint snapshots it and
restores it in place, so every repository keeps seeing the same tables. Loads return copies, as
rows read from Postgres are: an aggregate changed but not saved leaves the tables alone.

Tombstones queued with ``forget`` are collected in ``uow.forgotten`` as (topic, key), beside the
events. Two things the Postgres repositories do in SQL are kept simple here on purpose: a person's rate
window never runs out (tests set ``tables.counts`` to put someone at the limit; the window itself
is tested against Postgres), and the participation figures count inputs only.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from services.consultation.domain.contacts import AuthorContact
from services.consultation.domain.forum import Forum, Gap, Meeting, Seat, forum_meeting_due
from services.consultation.domain.inputs import Anchor, Counted, Input, LogEntry, ModeratedInput, Target
from services.consultation.domain.reports import breakdown
from services.consultation.domain.responses import Response, ResponseTable
from services.consultation.domain.rounds import CoCreationSpace, CommitmentSpace, OfflineEvent, Round
from services.consultation.store.rounds import Lock
from shared.events.base import Event
from shared.events.consultation import ParticipationReported, RoundState
from shared.events.privacy import digest
from tests.fakes.uow import FakeUnitOfWork


@dataclass
class Tables:
    spaces: dict[UUID, CoCreationSpace] = field(default_factory=dict)
    commitments: dict[UUID, CommitmentSpace] = field(default_factory=dict)
    rounds: dict[UUID, Round] = field(default_factory=dict)
    offline_events: list[OfflineEvent] = field(default_factory=list)
    #: subject → (participant id, window start, count); the window never runs out here.
    counts: dict[str, Counted] = field(default_factory=dict)
    inputs: dict[UUID, Input] = field(default_factory=dict)
    moderation: dict[UUID, ModeratedInput] = field(default_factory=dict)
    flags: set[tuple[UUID, UUID]] = field(default_factory=set)
    moderation_log: list[LogEntry] = field(default_factory=list)
    responses: dict[UUID, Response] = field(default_factory=dict)
    answered: dict[UUID, UUID] = field(default_factory=dict)
    response_tables: dict[UUID, ResponseTable] = field(default_factory=dict)
    reports: list[ParticipationReported] = field(default_factory=list)
    forums: dict[UUID, Forum] = field(default_factory=dict)
    seats: dict[UUID, Seat] = field(default_factory=dict)
    meetings: list[Meeting] = field(default_factory=list)
    emissions: set[tuple[str, str]] = field(default_factory=set)
    author_contacts: dict[UUID, AuthorContact] = field(default_factory=dict)
    #: erasure id → contacts erased (the audit row).
    erasures: dict[UUID, int] = field(default_factory=dict)
    #: NOTIFYs sent to wake the timers.
    wake_ups: int = 0

    def count(self, subject: str, now: datetime) -> Counted:
        before = self.counts.get(subject) or Counted(uuid4(), now, 0)
        self.counts[subject] = Counted(before.participant_id, before.window_start, before.count + 1)
        return self.counts[subject]


class _Repo:
    def __init__(self, tables: Tables) -> None:
        self.t = tables


class FakeSpaces(_Repo):
    async def get(self, plan_id: UUID, *, lock: Lock = None) -> CoCreationSpace | None:
        return copy.deepcopy(self.t.spaces.get(plan_id))

    async def add_or_retitle(self, space: CoCreationSpace) -> bool:
        known = self.t.spaces.get(space.plan_id)
        if known is not None:
            known.title = space.title
            return False
        self.t.spaces[space.plan_id] = copy.deepcopy(space)
        return True

    async def save_closed(self, space: CoCreationSpace) -> None:
        self.t.spaces[space.plan_id] = copy.deepcopy(space)


class FakeCommitments(_Repo):
    async def add(self, commitment: CommitmentSpace) -> None:
        self.t.commitments.setdefault(commitment.commitment_id, commitment)

    async def belongs(self, commitment_id: UUID, plan_id: UUID) -> bool:
        known = self.t.commitments.get(commitment_id)
        return known is not None and known.plan_id == plan_id


class FakeRounds(_Repo):
    async def get(self, round_id: UUID, *, for_update: bool = False) -> Round | None:
        return copy.deepcopy(self.t.rounds.get(round_id))

    async def add(self, rnd: Round) -> None:
        self.t.rounds[rnd.id] = copy.deepcopy(rnd)
        self.t.wake_ups += 1

    async def save(self, rnd: Round) -> None:
        self.t.rounds[rnd.id] = copy.deepcopy(rnd)

    async def due(self, state: RoundState, limit: int, now: datetime) -> list[Round]:
        def when(r: Round) -> datetime:
            return r.opens_at if state is RoundState.SCHEDULED else r.closes_at

        due = sorted((r for r in self.t.rounds.values() if r.state is state and when(r) <= now), key=when)
        return copy.deepcopy(due[:limit])

    async def to_close_for_plan(self, plan_id: UUID) -> list[Round]:
        open_ = (RoundState.SCHEDULED, RoundState.OPEN)
        found = [r for r in self.t.rounds.values() if r.plan_id == plan_id and r.state in open_]
        return copy.deepcopy(sorted(found, key=lambda r: r.opens_at))

    async def closing_soon(self, now: datetime, within: timedelta, limit: int) -> list[Round]:
        found = sorted(
            (
                r
                for r in self.t.rounds.values()
                if r.state is RoundState.OPEN
                and r.closing_soon_at is None
                and now < r.closes_at <= now + within
            ),
            key=lambda r: r.closes_at,
        )
        return copy.deepcopy(found[:limit])

    async def save_closing_soon(self, rnd: Round) -> None:
        self.t.rounds[rnd.id].closing_soon_at = rnd.closing_soon_at

    async def input_counts(self, round_id: UUID) -> tuple[int, int]:
        kinds = [i.kind.value for i in self.t.inputs.values() if i.round_id == round_id]
        return kinds.count("submission"), kinds.count("comment")

    async def add_offline_event(self, offline: OfflineEvent) -> None:
        self.t.offline_events.append(offline)


class FakeInputs(_Repo):
    def __init__(self, tables: Tables, uow: FakeConsultationUnitOfWork) -> None:
        super().__init__(tables)
        self._uow = uow

    async def target(self, round_id: UUID, subject: str, now: datetime, window: timedelta) -> Target | None:
        rnd = self.t.rounds.get(round_id)
        if rnd is None:
            return None
        state = RoundState.CLOSED if rnd.state is RoundState.OPEN and rnd.closes_at <= now else rnd.state
        counted = self.t.count(subject, now) if state is RoundState.OPEN else None
        return Target(rnd.id, rnd.plan_id, rnd.member_id, rnd.kind, rnd.commitment_id, state, counted)

    async def anchor_of(self, input_id: UUID, round_id: UUID) -> Anchor | None:
        item = self.t.inputs.get(input_id)
        return item.anchor if item is not None and item.round_id == round_id else None

    async def add_with_event(self, item: Input, event: Event) -> int | None:
        key = (item.round_id, item.author_id, item.text_hash)
        if any((i.round_id, i.author_id, i.text_hash) == key for i in self.t.inputs.values()):
            return None
        item.seq = len(self.t.inputs) + 1
        self.t.inputs[item.id] = copy.deepcopy(item)
        self.t.moderation[item.id] = ModeratedInput(
            item.id, item.kind, item.round_id, item.plan_id, False, None, 0
        )
        self._uow.events.append(event)  # the outbox row, written with the input
        return item.seq

    async def first_copy(self, item: Input) -> UUID | None:
        key = (item.round_id, item.author_id, item.text_hash)
        return next(
            (i.id for i in self.t.inputs.values() if (i.round_id, i.author_id, i.text_hash) == key), None
        )

    async def of_round(self, ids: Sequence[UUID], round_id: UUID) -> set[UUID]:
        return {i for i in ids if i in self.t.inputs and self.t.inputs[i].round_id == round_id}

    async def for_moderation(self, input_id: UUID) -> ModeratedInput | None:
        return copy.deepcopy(self.t.moderation.get(input_id))

    async def add_flag(self, input_id: UUID, flagger_id: UUID, reason: str, at: datetime) -> bool:
        if (input_id, flagger_id) in self.t.flags:
            return False
        self.t.flags.add((input_id, flagger_id))
        return True

    async def save_moderation(self, item: ModeratedInput, entry: LogEntry) -> None:
        self.t.moderation[item.id] = copy.deepcopy(item)
        self.t.moderation_log.append(entry)


class FakeParticipants(_Repo):
    async def count(self, subject: str, now: datetime, window: timedelta) -> Counted:
        return self.t.count(subject, now)


class FakeResponses(_Repo):
    async def add(self, response: Response) -> set[UUID]:
        self.t.responses[response.id] = copy.deepcopy(response)
        already = {i for i in response.input_ids if i in self.t.answered}
        for i in set(response.input_ids) - already:
            self.t.answered[i] = response.id
        return already


class FakeResponseTables(_Repo):
    async def live_rows(self, round_id: UUID) -> list[dict[str, Any]]:
        items = sorted(
            (i for i in self.t.inputs.values() if i.round_id == round_id), key=lambda i: i.seq or 0
        )
        rows = []
        for i in items:
            answer = self.t.responses.get(self.t.answered[i.id]) if i.id in self.t.answered else None
            rows.append({"input_id": str(i.id), "decision": answer.decision.value if answer else None})
        return rows

    async def add(self, table: ResponseTable) -> None:
        self.t.response_tables[table.id] = copy.deepcopy(table)


class FakeReports(_Repo):
    async def figures(
        self, *, min_cell: int, plan_id: UUID | None = None, round_id: UUID | None = None
    ) -> dict[str, Any]:
        if round_id is not None:
            rnd = self.t.rounds[round_id]
            plan_id, member_id, scope = rnd.plan_id, rnd.member_id, "round"
            items = [i for i in self.t.inputs.values() if i.round_id == round_id]
        else:
            assert plan_id is not None
            member_id, scope = self.t.spaces[plan_id].member_id, "cycle"
            items = [i for i in self.t.inputs.values() if i.plan_id == plan_id]
        kinds = [i.kind.value for i in items]
        return {
            "scope": scope, "plan_id": plan_id, "member_id": member_id, "round_id": round_id, "rounds": 0,
            "short_notice_rounds": 0, "submissions": kinds.count("submission"),
            "comments": kinds.count("comment"), "hidden": 0,
            "unique_participants": len({i.author_id for i in items}), "by": breakdown([], min_cell),
            "offline_events": 0, "offline_participants": 0, "inputs_needing_response": 0, "answered": 0,
            "response_coverage": None, "median_response_hours": None, "forum_meetings": 0,
            "implementation_meetings": 0,
        }  # fmt: skip

    async def add(self, report: ParticipationReported) -> None:
        self.t.reports.append(report)


class FakeForums(_Repo):
    async def add(self, forum: Forum) -> bool:
        if any(f.member_id == forum.member_id for f in self.t.forums.values()):
            return False
        self.t.forums[forum.id] = copy.deepcopy(forum)
        return True

    async def for_edit(self, forum_id: UUID, *, with_seats: bool = False) -> Forum | None:
        forum = copy.deepcopy(self.t.forums.get(forum_id))
        if forum is not None and with_seats:
            held = [s for s in self.t.seats.values() if s.forum_id == forum_id and s.left_on is None]
            forum.seats = copy.deepcopy(held)
        return forum

    async def add_seat(self, seat: Seat) -> None:
        self.t.seats[seat.id] = copy.deepcopy(seat)

    async def seat(self, forum_id: UUID, seat_id: UUID) -> Seat | None:
        seat = self.t.seats.get(seat_id)
        return copy.deepcopy(seat) if seat is not None and seat.forum_id == forum_id else None

    async def save_seat(self, seat: Seat) -> None:
        self.t.seats[seat.id] = copy.deepcopy(seat)

    async def add_meeting(self, meeting: Meeting) -> None:
        self.t.meetings.append(copy.deepcopy(meeting))

    async def overdue(
        self, today: date, months: int, kind: str, limit: int, only: Sequence[UUID] | None = None
    ) -> list[Gap]:
        gaps = []
        for f in sorted(self.t.forums.values(), key=lambda f: f.id):
            if only is not None and f.id not in only:
                continue
            last = max((m.held_on for m in self.t.meetings if m.forum_id == f.id), default=None)
            since = last or f.established_on
            gap = Gap(f.id, f.member_id, last, since, forum_meeting_due(None, since, months))
            if gap.due_on < today and (kind, gap.occurrence) not in self.t.emissions:
                gaps.append(gap)
        return gaps[:limit]

    async def lock(self, forum_ids: Sequence[UUID]) -> None:
        return None


class FakeEmissions(_Repo):
    async def claim(self, kind: str, occurrences: Sequence[str]) -> set[str]:
        new = {o for o in occurrences if (kind, o) not in self.t.emissions}
        self.t.emissions |= {(kind, o) for o in new}
        return new


class FakeAuthorContacts(_Repo):
    def __init__(self, tables: Tables, uow: FakeConsultationUnitOfWork) -> None:
        super().__init__(tables)
        self._uow = uow

    async def add_with_event(self, contact: AuthorContact, event: Event) -> None:
        assert contact.input_id in self.t.inputs, "the contact's input is stored first (foreign key)"
        assert contact.input_id not in self.t.author_contacts, "one contact per input (primary key)"
        self.t.author_contacts[contact.input_id] = contact
        self._uow.events.append(event)  # the outbox row, written with the contact

    async def erase(self, email_sha256: str | None, phone_sha256: str | None) -> list[UUID]:
        # The SQL digest of the stored value, in Python: the same normalisation as the request's.
        def matches(c: AuthorContact) -> bool:
            d = c.details
            return bool(
                (email_sha256 and d.email and digest(d.email) == email_sha256)
                or (phone_sha256 and d.phone and digest(d.phone) == phone_sha256)
            )

        gone = sorted(i for i, c in self.t.author_contacts.items() if matches(c))
        for input_id in gone:
            del self.t.author_contacts[input_id]
        return gone


class FakeErasures(_Repo):
    async def claim(self, erasure_id: UUID, at: datetime) -> bool:
        if erasure_id in self.t.erasures:
            return False
        self.t.erasures[erasure_id] = 0
        return True

    async def record(self, erasure_id: UUID, contacts_erased: int) -> None:
        self.t.erasures[erasure_id] = contacts_erased


class FakeConsultationUnitOfWork(FakeUnitOfWork):
    service = "consultation"

    def __init__(self) -> None:
        super().__init__()
        self.tables = t = Tables()
        self.spaces = FakeSpaces(t)
        self.commitments = FakeCommitments(t)
        self.rounds = FakeRounds(t)
        self.inputs = FakeInputs(t, self)
        self.participants = FakeParticipants(t)
        self.responses = FakeResponses(t)
        self.response_tables = FakeResponseTables(t)
        self.reports = FakeReports(t)
        self.forums = FakeForums(t)
        self.emissions = FakeEmissions(t)
        self.author_contacts = FakeAuthorContacts(t, self)
        self.erasures = FakeErasures(t)
        #: Tombstones queued with :meth:`forget`: (topic, key), in order.
        self.forgotten: list[tuple[str, str]] = []

    def forget(self, topic: str, key: str) -> None:
        self.forgotten.append((topic, key))

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        saved = copy.deepcopy(vars(self.tables))
        mark, forgotten = len(self.events), len(self.forgotten)
        try:
            yield
        except BaseException:
            vars(self.tables).update(saved)
            del self.events[mark:]
            del self.forgotten[forgotten:]
            raise

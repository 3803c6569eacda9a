"""The scenarios of ``bench.loop``: plans prepared the way plans' handlers create them, then
``PlanSubmitted`` committed into the plans outbox, and each consumer's effect read back from its
own database.

Every scenario uses a member id of its own, so its plans, reviews, spaces and deliveries are told
apart from the other scenarios' with one ``WHERE member_id = ...``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from bench.lib import log
from bench.lib.cpu import CpuMeter, CpuSnapshot
from bench.lib.outbox import outbox_mark, published_since, rows_per_relay_pass
from bench.lib.pacing import paced, until
from bench.lib.raw import Result
from bench.lib.stats import summarize
from devstack.services import ServiceProcess
from shared.events.base import Event
from shared.events.plans import ContactRegistered, PlanCreated, PlanSubmitted
from shared.uow import UnitOfWork, unit_of_work

#: The consumers of the loop, in the order their columns are printed.
CONSUMERS = ("irm", "consultation", "notifications")
#: The stage columns, in order: what each effect is, read from which column.
STAGES = {
    "relay": "relay published (outbox.published_at)",
    "irm": "irm review (reviews.scheduled_at)",
    "consultation": "consultation closed (co_creation_spaces.closed_at)",
    "notifications": "notifications delivery committed (deliveries.created_at)",
    "sent": "notifications e-mail sent (deliveries.sent_at)",
    "loop": "loop done (last of irm, consultation, notifications committed)",
}

_TITLE = "Plan d'action national 2025-2027"
_START, _END = date(2025, 9, 1), date(2027, 8, 31)  # two years: one review per plan


@dataclass(frozen=True, slots=True)
class PlanIds:
    plan_id: uuid.UUID
    member_id: uuid.UUID
    contact_id: uuid.UUID

    def created(self) -> list[Event]:
        """What creating a plan publishes: its point of contact (private topic), then the plan."""
        return [
            ContactRegistered(contact_id=self.contact_id, name="Point of contact",
                              email=f"poc-{self.contact_id.hex[:16]}@example.org"),
            PlanCreated(plan_id=self.plan_id, member_id=self.member_id, title=_TITLE, start_date=_START,
                        end_date=_END, point_of_contact_id=self.contact_id, created_at=datetime.now(UTC)),
        ]  # fmt: skip

    def submitted(self) -> list[Event]:
        return [
            PlanSubmitted(plan_id=self.plan_id, member_id=self.member_id, title=_TITLE, start_date=_START,
                          end_date=_END, commitment_count=12, point_of_contact_id=self.contact_id,
                          submitted_at=datetime.now(UTC)),
        ]  # fmt: skip


_COUNTS = {
    "irm": "SELECT count(DISTINCT plan_id) FROM reviews WHERE member_id = $1",
    "consultation": "SELECT count(*) FROM co_creation_spaces WHERE member_id = $1 AND state = 'closed'",
}
_DELIVERIES = """SELECT d.plan_id, d.template, d.status, d.created_at, d.sent_at
                 FROM deliveries d JOIN plan_contacts pc ON pc.plan_id = d.plan_id
                 WHERE pc.member_id = $1"""


@dataclass
class Loop:
    pools: dict[str, asyncpg.Pool]
    procs: dict[str, ServiceProcess]
    meter: CpuMeter
    writers: int
    running: set[str] = field(default_factory=set)

    # --- the load generator ------------------------------------------------------------------
    async def _commit(self, events: list[Event]) -> None:
        """What a plans request handler does: one transaction, its events into the outbox."""
        async with unit_of_work(self.pools["plans"], "plans", UnitOfWork) as uow:
            for event in events:
                uow.publish(event)

    async def _write(self, jobs: Sequence[list[Event]], rate: float | None) -> float:
        """Commit each job, as fast as the writers can or at ``rate`` (open loop); seconds taken."""
        w0 = time.perf_counter()
        if rate is None:
            queue = iter(jobs)

            async def writer() -> None:
                for job in queue:
                    await self._commit(job)

            await asyncio.gather(*(writer() for _ in range(self.writers)))
        else:
            await paced(rate, len(jobs), lambda i: self._commit(jobs[i]))
        return time.perf_counter() - w0

    async def prepare(self, count: int) -> tuple[uuid.UUID, list[PlanIds]]:
        """``count`` plans created and known everywhere (a co-creation space in consultation, the
        point of contact in notifications), everything they caused settled: not measured."""
        member = uuid.uuid4()
        plans = [PlanIds(uuid.uuid4(), member, uuid.uuid4()) for _ in range(count)]
        await self._write([p.created() for p in plans], None)

        async def known() -> int:
            spaces = await self.pools["consultation"].fetchval(
                "SELECT count(*) FROM co_creation_spaces WHERE member_id = $1", member
            )
            contacts = await self.pools["notifications"].fetchval(
                """SELECT count(*) FROM plan_contacts pc JOIN recipients r ON r.id = pc.contact_id
                   WHERE pc.member_id = $1""",
                member,
            )
            return min(int(spaces), int(contacts))

        if (seen := await until(known, count, stall_s=60)) < count:
            log(f"prepare: only {seen}/{count} plans known to consultation and notifications")
        await self.settle()
        return member, plans

    # --- what the services did ---------------------------------------------------------------
    async def counts(self, member: uuid.UUID) -> dict[str, int]:
        """Plans of ``member`` with each effect: irm, consultation, notifications (committed), sent;
        and its deliveries of any template."""
        out = {name: int(await self.pools[name].fetchval(sql, member)) for name, sql in _COUNTS.items()}
        row = await self.pools["notifications"].fetchrow(
            f"""SELECT count(*) FILTER (WHERE template = 'plan_submitted') AS committed,
                       count(*) FILTER (WHERE template = 'plan_submitted' AND status = 'sent') AS sent,
                       count(*) AS deliveries, count(*) FILTER (WHERE status = 'sent') AS sent_all
                FROM ({_DELIVERIES}) d""",
            member,
        )
        assert row is not None
        out["notifications"], out["sent"] = int(row["committed"]), int(row["sent"])
        out["deliveries"], out["sent_all"] = int(row["deliveries"]), int(row["sent_all"])  # any template
        return out

    async def settle(self, timeout_s: float = 120.0) -> None:
        """Until nothing moves: every running service's inbox steady for half a second, no
        unpublished outbox row, no pending delivery (the e-mails of ``ReviewScheduled`` too)."""
        deadline = time.monotonic() + timeout_s
        last: tuple[int, ...] = ()
        steady_since = time.monotonic()
        while time.monotonic() < deadline:
            state: list[int] = []
            busy = 0
            for name in sorted(self.running):
                pool = self.pools[name]
                state.append(int(await pool.fetchval("SELECT count(*) FROM inbox")))
                busy += int(await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"))
            if "notifications" in self.running:
                busy += int(
                    await self.pools["notifications"].fetchval(
                        "SELECT count(*) FROM deliveries WHERE status = 'pending'"
                    )
                )
            now = time.monotonic()
            if tuple(state) != last:
                last, steady_since = tuple(state), now
            elif busy == 0 and now - steady_since >= 0.5:
                return
            await asyncio.sleep(0.1)
        log(f"settle: still busy after {timeout_s:.0f}s; going on")

    # --- scenarios -----------------------------------------------------------------------------
    async def run(
        self,
        name: str,
        count: int,
        *,
        rate: float | None,
        on_submit: Callable[[], None] | None = None,
        stall_s: float = 30.0,
    ) -> Result:
        """``count`` plans submitted (at ``rate``, or as fast as the writers can) with every
        service running; CPU until everything they caused has settled."""
        member, plans = await self.prepare(count)
        mark = await outbox_mark(self.pools["plans"])
        if on_submit:
            on_submit()
        cpu0 = self.meter.snapshot()
        writer_s = await self._write([p.submitted() for p in plans], rate)

        async def done() -> int:
            got = await self.counts(member)
            return min(got[k] for k in (*CONSUMERS, "sent"))

        if (got := await until(done, count, stall_s=stall_s)) < count:
            log(f"{name}: only {got}/{count} plans went round the loop ({await self.counts(member)})")
        await self.settle()
        cpu1 = self.meter.snapshot()
        return await self._result(name, count, rate, member, mark, (cpu0, cpu1), writer_s, count, None)

    async def drain(
        self,
        name: str,
        service: str,
        count: int,
        *,
        start: Callable[[str], Coroutine[Any, Any, None]],
        stall_s: float = 30.0,
    ) -> Result:
        """One consumer alone: ``count`` submissions wait in Kafka while ``service`` is stopped (the
        other consumers apply theirs meanwhile), then it starts again and drains them with the
        machine to itself. Rate and CPU are taken from its first effect to its last."""
        member, plans = await self.prepare(count)
        mark = await outbox_mark(self.pools["plans"])
        self._stop(service)
        writer_s = await self._write([p.submitted() for p in plans], None)
        if (
            published := await until(
                lambda: published_since(self.pools["plans"], mark), count, stall_s=stall_s
            )
        ) < count:
            log(f"{name}: the plans relay published only {published}/{count}")
        others = [c for c in CONSUMERS if c != service]

        async def others_done() -> int:
            got = await self.counts(member)
            return min(got[c] for c in others)

        await until(others_done, count, stall_s=stall_s)
        await self.settle()
        # The others have applied theirs: stopped, so that this one has the machine to itself
        # (they would otherwise react to what it publishes, e.g. irm's ReviewScheduled turned into
        # e-mails); they catch up afterwards, not measured.
        for other in others:
            self._stop(other)
        restart = asyncio.create_task(start(service))
        self.running.add(service)
        # Its first effect and its last. Notifications may well start with the irm topic's backlog,
        # so its first is a delivery of either template, and it is done when every e-mail is sent:
        # one per PlanSubmitted, one per ReviewScheduled (a review each).
        first = "deliveries" if service == "notifications" else service
        reviews = int(
            await self.pools["irm"].fetchval("SELECT count(*) FROM reviews WHERE member_id = $1", member)
        )
        target = count + reviews if service == "notifications" else count

        async def began() -> int:
            return (await self.counts(member))[first]

        async def applied() -> int:
            got = await self.counts(member)
            return got["sent_all"] if service == "notifications" else got[service]

        await until(began, 1, stall_s=90, every_s=0.02)
        cpu0 = self.meter.snapshot()
        before = await applied()
        done = await until(applied, target, stall_s=stall_s)
        cpu1 = self.meter.snapshot()
        log(f"{name}: CPU window {cpu1.wall - cpu0.wall:.1f}s, {done - before} effects in it")
        await restart
        await asyncio.gather(*(start(other) for other in others))
        self.running.update(others)
        await self.settle()
        if done < target:
            log(f"{name}: only {done}/{target} effects after {stall_s:.0f}s without progress")
        n = count if service == "notifications" else done - before
        return await self._result(name, count, None, member, mark, (cpu0, cpu1), writer_s, n, service)

    def _stop(self, service: str) -> None:
        self.procs[service].ensure_stopped()
        self.running.discard(service)

    async def _result(
        self,
        name: str,
        count: int,
        rate: float | None,
        member: uuid.UUID,
        mark: int,
        cpu: tuple[CpuSnapshot, CpuSnapshot],
        writer_s: float,
        cpu_events: int,
        drained: str | None,
    ) -> Result:
        out = await self.pools["plans"].fetch(
            "SELECT key, created_at, published_at FROM outbox WHERE id > $1 AND event_type = $2",
            mark, PlanSubmitted.event_type,
        )  # fmt: skip
        if not out:
            raise RuntimeError(f"{name}: no outbox rows were written")
        reviews = await self.pools["irm"].fetch(
            "SELECT plan_id, min(scheduled_at) AS at FROM reviews WHERE member_id = $1 GROUP BY plan_id",
            member,
        )
        spaces = await self.pools["consultation"].fetch(
            """SELECT plan_id, closed_at AS at FROM co_creation_spaces
               WHERE member_id = $1 AND state = 'closed'""",
            member,
        )
        effects: dict[str, dict[str, datetime]] = {
            "irm": {str(r["plan_id"]): r["at"] for r in reviews},
            "consultation": {str(r["plan_id"]): r["at"] for r in spaces},
        }
        deliveries = await self.pools["notifications"].fetch(_DELIVERIES, member)
        submitted = [d for d in deliveries if d["template"] == "plan_submitted"]
        effects["notifications"] = {str(d["plan_id"]): d["created_at"] for d in submitted}
        effects["sent"] = {str(d["plan_id"]): d["sent_at"] for d in submitted if d["sent_at"]}
        effects["loop"] = {
            key: max(effects[c][key] for c in CONSUMERS)
            for key in effects["irm"]
            if all(key in effects[c] for c in CONSUMERS)
        }
        samples: dict[str, list[float]] = {stage: [] for stage in STAGES}
        for r in out:
            if r["published_at"] is not None:
                samples["relay"].append((r["published_at"] - r["created_at"]).total_seconds() * 1000)
            for stage in STAGES.keys() - {"relay"}:
                if (at := effects[stage].get(r["key"])) is not None:
                    samples[stage].append((at - r["created_at"]).total_seconds() * 1000)
        first_commit = min(r["created_at"] for r in out)
        rate_of: int | None = None  # effects the rate counts, when not all of them
        if drained is None:
            completed = len(effects["loop"])
            start, end = first_commit, max(effects["loop"].values(), default=first_commit)
        elif drained == "notifications":
            # Its work: every delivery of these plans (plan_submitted and review_scheduled), from
            # the first committed to the last sent.
            completed = len(effects["sent"])
            start = min((d["created_at"] for d in deliveries), default=first_commit)
            end = max((d["sent_at"] for d in deliveries if d["sent_at"]), default=start)
        else:
            completed = len(effects[drained])
            start = min(effects[drained].values(), default=first_commit)
            end = max(effects[drained].values(), default=start)
            # A consumer that applies a batch in one transaction may stamp the whole batch with
            # one time: the rate from the first effect to the last counts the effects after it.
            rate_of = sum(1 for at in effects[drained].values() if at > start)
        since = "created_at >= $1 AND published_at IS NOT NULL"
        result = Result.measured(
            name,
            "sharaka",
            events=count,
            target_rate=rate,
            elapsed_s=(end - start).total_seconds(),
            writer_s=writer_s,
            latencies_ms=samples["loop"],
            completed=completed,
            cpu=cpu,
            cpu_events=cpu_events,
            stages_ms={STAGES[stage]: summarize(values) for stage, values in samples.items()},
            relay_rows_per_pass={
                svc: await rows_per_relay_pass(self.pools[svc], since, first_commit)
                for svc in ("plans", *CONSUMERS)
            },
        )
        if rate_of is not None and result.elapsed_s > 0:
            result.events_per_s = round(rate_of / result.elapsed_s, 1)
        return result

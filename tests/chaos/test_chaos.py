"""The chaos run: the four services as real processes, the session's Kafka and PostgreSQL, the
real mail and SMS catchers, a steady load through the whole loop, and faults while it runs.

The loop: plans are created and submitted over HTTP → consultation opens and closes each plan's
co-creation space → the IRM schedules its action plan review → notifications e-mails the plan's
point of contact of the submission and of the review, and e-mails and texts a follower of the
member of both. So every plan must end as exactly: one submitted plan with one commitment, one
closed co-creation space, one review, six deliveries (four e-mails, two texts), each message
caught once.

While the load runs, at random points (``SHARAKA_CHAOS_SEED``): every service is SIGKILLed
``KILLS_PER_SERVICE`` times and started again, the broker is restarted once, PostgreSQL is
restarted once (fast shutdown: every connection dropped) and every service connection is
terminated once with ``pg_terminate_backend``. Each service also crashes once by itself at the
awkward moment of its kind (a fault point: the relay after Kafka's ack and before marking, a
consumer after its commit and before its offsets, the notifications worker after sending and
before recording) and is started again by a supervisor, as Kubernetes would. The load is held
back so that it cannot finish before the faults it must run through; each kill records that work
was still in flight.

Then, once quiet: every effect exactly once in every store, every message once in the catchers
(by Message-ID / gateway reference; raw repeats of the documented send-then-crash gap are
reported, bounded, not hidden), no dead letters, outboxes published, consumer lag 0, and no
e-mail address or phone number in any service log (INFO level) nor on any public topic, while the
private contacts topic carries them (so the scan is known to see them).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.kafka import KafkaNode
from devstack.mail import MailCatcher
from devstack.ports import free_port
from devstack.postgres import PostgresCluster
from devstack.services import ServiceProcess
from devstack.sms import SmsCatcher
from services.notifications.mailer import message_id
from shared.auth import person_id
from shared.events import topics
from tests import privacy
from tests.chaos import checks
from tests.chaos.load import STAFF, PlanLoad
from tests.conftest import Env, token
from tests.helpers import applies, install_apply_probe, processes_running

SEED = int(os.environ.get("SHARAKA_CHAOS_SEED", "20261130"))
PLANS = int(os.environ.get("SHARAKA_CHAOS_PLANS", "200"))
SERVICES = ("plans", "consultation", "irm", "notifications")
KILLS_PER_SERVICE = 2
#: How far (in plans) the load may run ahead of a fault not yet done.
AHEAD = 12
#: Messages per plan: the point of contact's two e-mails, the follower's two e-mails and two texts.
MAILS_PER_PLAN, SMS_PER_PLAN = 4, 2
#: A crash between "sent" and "recorded" may repeat at most one chunk (the worker's documented gap).
CHUNK = 8
FOLLOWER = "chaos-follower"
#: Once, each service also crashes by itself at the most awkward moment of its kind
#: (shared/faults.py), on a seeded hit: a random SIGKILL hardly ever lands there.
FAULT_POINTS = {
    "plans": "relay.after_send",  # Kafka has the events, the outbox does not know: re-sent
    "consultation": "consumer.after_commit",  # applied and committed, offsets not: re-read
    "irm": "consumer.after_commit",
    "notifications": "notifications.after_send",  # sent, not recorded: the documented repeat
}

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@dataclass
class Fault:
    at: int  # fires once this many plans are submitted
    kind: str  # kill, kafka, postgres, terminate
    service: str | None = None
    submitted_then: int = -1
    in_flight: int | None = None  # the killed service's own effects so far (below the final count)
    seconds: float = 0.0
    terminated: int = 0


@dataclass
class Figures:
    faults: list[Fault] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(1 for f in self.faults if f.kind == kind and f.submitted_then >= 0)


def _plan_faults(rng: random.Random) -> list[Fault]:
    kinds: list[tuple[str, str | None]] = [("kill", s) for s in SERVICES for _ in range(KILLS_PER_SERVICE)]
    kinds += [("kafka", None), ("postgres", None), ("terminate", None)]
    rng.shuffle(kinds)
    points = sorted(rng.sample(range(PLANS // 20, PLANS * 17 // 20), len(kinds)))
    return [Fault(at, kind, service) for at, (kind, service) in zip(points, kinds, strict=True)]


@pytest.fixture
async def platform(env: Env, sms: SmsCatcher, tmp_path: Path) -> AsyncIterator[dict[str, ServiceProcess]]:
    procs: dict[str, ServiceProcess] = {}
    for name in SERVICES:
        extra: dict[str, Any] = {"timers_enabled": "false"}
        if name == "notifications":
            port = free_port()
            extra |= {
                "http_port": port,
                "public_url": f"http://127.0.0.1:{port}",
                "sms_provider": "webhook",
                "sms_url": f"{sms.url}/webhook",
                # A killed worker's claimed batch waits out its lease: keep it short.
                "smtp_timeout_s": 3,
                "sms_timeout_s": 3,
                "delivery_lease_s": 10,
                "delivery_chunk_size": CHUNK,
            }
        procs[name] = ServiceProcess(name, env.env_vars(name.upper() + "_", name, **extra), tmp_path)
        procs[name].env["SHARAKA_FAULTS"] = (
            f"{FAULT_POINTS[name]}:{random.Random(f'{SEED}{name}').randint(2, 6)}"
        )
    async with processes_running(procs):
        yield procs


def _dsn(p: ServiceProcess) -> str:
    return p.env[f"{p.name.upper()}_DATABASE_URL"]


#: Per service, the effect counted at a kill (it must be below the final count: work in flight).
EFFECT = {
    "plans": "SELECT count(*) FROM plans WHERE state = 'submitted'",
    "consultation": "SELECT count(*) FROM co_creation_spaces WHERE state = 'closed'",
    "irm": "SELECT count(*) FROM reviews",
    "notifications": "SELECT count(*) FROM deliveries WHERE status = 'sent'",
}
FINAL = {"plans": PLANS, "consultation": PLANS, "irm": PLANS, "notifications": PLANS * 6}


class Chaos:
    """Runs the faults in order, each when the load reaches its point; holds the load back."""

    def __init__(
        self,
        faults: list[Fault],
        procs: dict[str, ServiceProcess],
        kafka: KafkaNode,
        pg: PostgresCluster,
        databases: list[str],
        rng: random.Random,
    ) -> None:
        self.faults = faults
        self.procs = procs
        self.kafka = kafka
        self.pg = pg
        self.databases = databases
        self.rng = rng
        self.done = 0
        self.load: PlanLoad | None = None
        #: A killed service coming back: the next fault does not wait for it (faults overlap, as
        #: they do in a cluster), but the same service is not killed again before it is ready.
        self.starting: dict[str, asyncio.Task[None]] = {}
        #: Services that crashed by themselves at their fault point (and were started again).
        self.fault_exits: dict[str, float] = {}
        #: Starts that failed (the service exited before it was ready), as "service: last line".
        self.start_failures: list[str] = []
        #: Events each service's consumer found already applied (the inbox's ``duplicate``),
        #: read from each process's metrics before it is killed and at the end.
        self.duplicates: Counter[str] = Counter()
        self._killing: set[str] = set()
        self.supervisor: asyncio.Task[None] | None = None

    def check(self) -> None:
        """Fail at once when the supervisor found a service crashed (rather than wait on it)."""
        if self.supervisor is not None and self.supervisor.done():
            self.supervisor.result()
            raise AssertionError("the supervisor stopped")

    async def count_duplicates(self, p: ServiceProcess) -> None:
        """Add what this process's consumer counted as duplicates so far (its metrics die with it)."""
        try:
            async with httpx.AsyncClient(base_url=p.base_url, timeout=5) as http:
                text = (await http.get("/metrics")).text
        except httpx.HTTPError:
            return  # not up: it counted nothing since its start
        for line in text.splitlines():
            if line.startswith("sharaka_events_consumed_total{") and 'outcome="duplicate"' in line:
                self.duplicates[p.name] += int(float(line.rsplit(" ", 1)[-1]))

    def _restart(self, p: ServiceProcess) -> None:
        self.starting[p.name] = asyncio.create_task(self._bring_up(p))

    async def _bring_up(self, p: ServiceProcess) -> None:
        """Start ``p`` until it is ready. A start that fails (e.g. the broker is down at that
        moment: the service exits) is started again after a second, as Kubernetes does with a
        crash-looping pod; each such exit is counted and printed, never hidden."""
        for _ in range(30):
            if p.name in self.fault_exits:  # the forced crash happens once (a kill before it: again)
                p.env.pop("SHARAKA_FAULTS", None)
            p.start()
            try:
                await p.wait_ready()
                return
            except RuntimeError:
                assert p.proc is not None and p.proc.poll() is not None, p.log_tail()
                if not self._fault_exit(p):
                    lines = [ln for ln in p.log_tail(5).splitlines() if ln.strip()]
                    self.start_failures.append(f"{p.name} exit {p.proc.returncode}: {lines[-1][:160]}")
                    await asyncio.sleep(1)
        raise AssertionError(f"{p.name} did not start in 30 tries:\n{p.log_tail()}")

    def _fault_exit(self, p: ServiceProcess) -> bool:
        """Whether ``p`` exited at its fault point (recorded then)."""
        assert p.proc is not None
        if p.proc.returncode != 137 or "SHARAKA_FAULTS" not in p.env:
            return False
        if f"fault point {FAULT_POINTS[p.name]} reached" not in p.log_text():
            return False
        self.fault_exits[p.name] = time.monotonic()
        return True

    async def supervise(self) -> None:
        """Start again a running service that exited at its fault point, as Kubernetes would;
        any other exit of a service that was up is a crash of the service itself: the run fails."""
        while True:
            for p in self.procs.values():
                if p.name in self._killing or p.proc is None or p.proc.poll() is None:
                    continue
                if p.name in self.starting and not self.starting[p.name].done():
                    continue  # coming up: _bring_up deals with its exits
                assert self._fault_exit(p), (
                    f"{p.name} exited by itself ({p.proc.returncode}):\n{p.log_tail()}"
                )
                self._restart(p)
            await asyncio.sleep(0.05)

    async def gate(self, i: int) -> None:
        while self.done < len(self.faults) and self.faults[self.done].at + AHEAD <= i:
            self.check()
            await asyncio.sleep(0.05)

    async def run(self) -> None:
        assert self.load is not None
        for fault in self.faults:
            while self.load.figures.submitted < fault.at:
                self.check()
                await asyncio.sleep(0.05)
            fault.submitted_then = self.load.figures.submitted
            started = time.monotonic()
            await self._inject(fault)
            fault.seconds = time.monotonic() - started
            self.done += 1
        await asyncio.gather(*self.starting.values())

    async def _inject(self, fault: Fault) -> None:
        if fault.kind == "kill":
            assert fault.service is not None
            p = self.procs[fault.service]
            while p.name in self.starting or p.proc is None or p.proc.poll() is not None:
                if p.name in self.starting:
                    await self.starting.pop(p.name)
                else:
                    self.check()
                    await asyncio.sleep(0.05)  # crashed at its fault point: the supervisor restarts it
            self._killing.add(p.name)
            try:
                fault.in_flight = int(await checks.value(_dsn(p), EFFECT[p.name]))
                await self.count_duplicates(p)
                p.kill()
                await asyncio.sleep(self.rng.uniform(0, 0.5))  # down a moment, as a rescheduled pod is
                self._restart(p)
            finally:
                self._killing.discard(p.name)
        elif fault.kind == "kafka":  # the clients ride it out; nobody else may stop it meanwhile
            await asyncio.to_thread(self.kafka.stop)
            await asyncio.to_thread(self.kafka.start)
        elif fault.kind == "postgres":
            await asyncio.to_thread(self.pg.restart, "fast")
        elif fault.kind == "terminate":
            fault.terminated = await asyncio.to_thread(self.pg.terminate_backends, self.databases)


async def _setup(env: Env, procs: dict[str, ServiceProcess], phone: str) -> str:
    """One member; a signed-in follower of it with an e-mail and a phone, for submissions and
    reviews. Every call's answer is checked: a failed set-up must not pass as a quiet run."""
    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.post(f"{procs['plans'].base_url}/v1/members", headers=STAFF,
                            json={"name": "Chaosland", "kind": "national", "country_code": "TN"})  # fmt: skip
        assert r.status_code == 201, r.text
        member_id = str(r.json()["id"])
        rid = person_id(FOLLOWER)
        who = token("participant", sub=FOLLOWER)
        notifications = procs["notifications"].base_url
        r = await http.put(f"{notifications}/v1/recipients/{rid}/preferences", headers=who, json={
            "name": "Leila Follower", "email": f"follower.{env.run_id}@example.org", "phone": phone,
            "language": "en", "channels": ["email", "sms"],
        })  # fmt: skip
        assert r.status_code == 200, r.text
        r = await http.post(f"{notifications}/v1/recipients/{rid}/subscriptions", headers=who, json={
            "scope_type": "member", "scope_id": member_id, "kinds": ["plan_submitted", "review_scheduled"],
        })  # fmt: skip
        assert r.status_code == 201, r.text
    return member_id


def _caught(env: Env, mail: MailCatcher, sms: SmsCatcher, phone: str) -> tuple[list[str], list[str]]:
    """The Message-IDs of this run's e-mails and the gateway references of its texts, as caught
    (a repeat appears twice)."""
    mails = [str(m["Message-ID"]) for m in mail.messages if env.run_id in str(m["X-Envelope-To"])]
    with sms._changed:  # the catcher appends from its own thread
        texts = [str(s.reference) for s in sms.messages if s.to == phone]
    return mails, texts


async def test_chaos_run(
    env: Env,
    kafka: KafkaNode,
    pg: PostgresCluster,
    mail: MailCatcher,
    sms: SmsCatcher,
    platform: dict[str, ServiceProcess],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    t0 = time.monotonic()
    rng = random.Random(SEED)
    phone = f"+2162{rng.randrange(10**7):07d}"  # a Tunisian mobile of this run's own
    procs = platform
    dsn = {name: _dsn(p) for name, p in procs.items()}
    member_id = await _setup(env, procs, phone)
    # Counts the IRM's applies of PlanSubmitted in a table with no key: a second apply of one
    # event (an inbox that let a redelivery through) is a second row, which no unique constraint
    # on reviews can hide.
    await install_apply_probe(dsn["irm"])

    faults = _plan_faults(rng)
    chaos = Chaos(faults, procs, kafka, pg, [f"{s}_{env.run_id}" for s in SERVICES], rng)
    load = PlanLoad(procs["plans"].base_url, dsn["plans"], member_id, env.run_id, PLANS, gate=chaos.gate)
    chaos.load = load
    supervisor = chaos.supervisor = asyncio.create_task(chaos.supervise())
    load_task = asyncio.create_task(load.run())
    await chaos.run()
    figures = await load_task
    load_seconds = time.monotonic() - t0
    # Every service reached its fault point (early: a few hits) and is up again; from here on
    # any exit is a failure.
    deadline = time.monotonic() + 120
    while set(chaos.fault_exits) != set(SERVICES) or chaos.starting:
        assert not supervisor.done(), supervisor.result()
        assert time.monotonic() < deadline, f"fault points reached: {sorted(chaos.fault_exits)}"
        for name, task in list(chaos.starting.items()):
            if task.done():
                del chaos.starting[name]
                task.result()
        await asyncio.sleep(0.1)
    supervisor.cancel()

    # --- quiet: wait on the conditions, failing fast if a service died on its own -------------
    plan_ids = {str(p) for p in figures.plan_ids.values()}
    prefix = env.prefix
    consumed = {
        "consultation": [prefix + topics.PLANS],
        "irm": [prefix + topics.PLANS],
        "notifications": [prefix + t for t in (topics.PLANS, topics.IRM, topics.PLANS_CONTACTS)],
    }

    async def quiet() -> bool:
        for p in procs.values():
            assert p.proc is not None and p.proc.poll() is None, f"{p.name} exited:\n{p.log_tail()}"
        try:
            if any([await checks.unpublished(d) for d in dsn.values()]):
                return False
            for name, final in FINAL.items():
                if int(await checks.value(dsn[name], EFFECT[name])) < final:
                    return False
            for name, names in consumed.items():
                if any((await checks.lag(kafka.bootstrap, f"{prefix}sharaka-{name}", names)).values()):
                    return False
        except OSError:
            return False
        mails, texts = _caught(env, mail, sms, phone)
        return len(set(mails)) >= PLANS * MAILS_PER_PLAN and len(set(texts)) >= PLANS * SMS_PER_PLAN

    deadline = time.monotonic() + 240
    while not await quiet():
        assert time.monotonic() < deadline, "the platform did not settle within 240 s of the load"
        await asyncio.sleep(0.5)
    settle_seconds = time.monotonic() - t0 - load_seconds
    for p in procs.values():
        await chaos.count_duplicates(p)

    # --- every effect exactly once in every store ----------------------------------------------
    v = checks.value
    found: dict[str, int] = {
        "plans": await v(dsn["plans"], "SELECT count(*) FROM plans WHERE title LIKE $1", f"Chaos {env.run_id} %"),
        "distinct plan titles": await v(dsn["plans"], "SELECT count(DISTINCT title) FROM plans"),
        "submitted plans": await v(dsn["plans"], "SELECT count(*) FROM plans WHERE state = 'submitted'"),
        "commitments": await v(dsn["plans"], "SELECT count(*) FROM commitments"),
        "plans with one commitment": await v(dsn["plans"], "SELECT count(*) FROM (SELECT plan_id FROM "
                                             "commitments GROUP BY plan_id HAVING count(*) = 1) c"),
        "co-creation spaces closed": await v(dsn["consultation"],
                                             "SELECT count(*) FROM co_creation_spaces WHERE state = 'closed'"),
        "co-creation spaces": await v(dsn["consultation"], "SELECT count(*) FROM co_creation_spaces"),
        "commitment spaces": await v(dsn["consultation"], "SELECT count(*) FROM commitment_spaces"),
        "reviews": await v(dsn["irm"], "SELECT count(*) FROM reviews"),
        "reviewed plans": await v(dsn["irm"], "SELECT count(DISTINCT plan_id) FROM reviews"),
        "deliveries": await v(dsn["notifications"], "SELECT count(*) FROM deliveries"),
        "deliveries sent": await v(dsn["notifications"], "SELECT count(*) FROM deliveries WHERE status = 'sent'"),
        "distinct deliveries": await v(dsn["notifications"], "SELECT count(DISTINCT (cause_event_id, template, "
                                       "channel, coalesce(recipient_id, plan_id))) FROM deliveries"),
    }  # fmt: skip
    expected = {
        "plans": PLANS, "distinct plan titles": PLANS, "submitted plans": PLANS, "commitments": PLANS,
        "plans with one commitment": PLANS, "co-creation spaces closed": PLANS, "co-creation spaces": PLANS,
        "commitment spaces": PLANS, "reviews": PLANS, "reviewed plans": PLANS, "deliveries": 6 * PLANS,
        "deliveries sent": 6 * PLANS, "distinct deliveries": 6 * PLANS,
    }  # fmt: skip
    by_kind = Counter(
        (r["template"], r["channel"])
        for r in await checks.rows(dsn["notifications"], "SELECT template, channel FROM deliveries")
    )
    probe = await applies(dsn["irm"])
    found["plans applied once by the IRM (probe)"] = sum(1 for n in probe.values() if n == 1)
    found["extra IRM applies (probe)"] = sum(n - 1 for n in probe.values() if n > 1)
    expected["plans applied once by the IRM (probe)"] = PLANS
    expected["extra IRM applies (probe)"] = 0
    lost = sum(max(0, expected[k] - int(found[k])) for k in expected)
    duplicated = sum(max(0, int(found[k]) - expected[k]) for k in expected)

    # Effects no unique constraint guards: the events each service wrote, the same for every plan.
    uneven = {
        name: await checks.uneven_per_plan(dsn[name], plan_ids) for name in ("plans", "consultation", "irm")
    }
    outboxes = {name: await checks.outbox_by_type(dsn[name]) for name in SERVICES}

    # --- the topics: every outbox row published, nothing dead-lettered --------------------------
    everything = await privacy.topics_with_prefix(kafka.bootstrap, prefix)
    records = await checks.read_all(kafka.bootstrap, everything)
    dead = {t: len(rs) for t, rs in records.items() if t.endswith(".dlq") and rs}
    relayed = {name: sum(outboxes[name].values()) for name in SERVICES}
    own_topic = {"plans": [topics.PLANS, topics.PLANS_CONTACTS], "consultation": [topics.CONSULTATION],
                 "irm": [topics.IRM], "notifications": [topics.NOTIFICATIONS]}  # fmt: skip
    on_topics = {
        name: len({i for t in own_topic[name] for i in checks.ce_ids(records.get(prefix + t, []))})
        for name in SERVICES
    }
    events = sum(len(set(checks.ce_ids(rs))) for rs in records.values())
    raw_records = sum(len(rs) for rs in records.values())
    mails, texts = _caught(env, mail, sms, phone)
    sent_ids = await checks.rows(dsn["notifications"], "SELECT id, channel FROM deliveries")
    want_mails = {message_id(r["id"]) for r in sent_ids if r["channel"] == "email"}
    want_texts = {str(r["id"]) for r in sent_ids if r["channel"] == "sms"}

    # --- privacy: no e-mail address or phone number outside the private contacts topics --------
    scan = await privacy.scan_topics(kafka.bootstrap, everything)
    log_findings = privacy.scan_logs([p.log_path for p in procs.values()])
    kills = chaos.faults
    with capsys.disabled():
        print(f"\n--- chaos run (seed {SEED}: SHARAKA_CHAOS_SEED to repeat) ---")
        print(f"plans submitted over HTTP: {figures.submitted} ({figures.requests} requests, "
              f"{figures.unanswered} unanswered by a dying server/database, {figures.repeated} repeated "
              f"after checking the database)")  # fmt: skip
        for f in kills:
            what = f"{f.kind} {f.service or ''}".strip()
            extra = f", {f.in_flight}/{FINAL[f.service]} effects done" if f.service else ""
            extra += f", {f.terminated} backends" if f.kind == "terminate" else ""
            print(f"  at plan {f.submitted_then:4d}: {what} ({f.seconds:.1f} s{extra})")
        print(
            f"forced crashes at the fault points: {', '.join(f'{n} ({FAULT_POINTS[n]})' for n in sorted(chaos.fault_exits))}"
        )
        print(f"failed starts (started again a second later): {len(chaos.start_failures)}")
        for line in chaos.start_failures:
            print(f"  {line}")
        print(f"faults: {chaos.done} — kills {sum(1 for f in kills if f.kind == 'kill')}, broker restarts "
              f"{sum(1 for f in kills if f.kind == 'kafka')}, postgres restarts "
              f"{sum(1 for f in kills if f.kind == 'postgres')}, terminated backends "
              f"{sum(f.terminated for f in kills)}")  # fmt: skip
        print(
            f"events: {events} distinct on {len(everything)} topics ({raw_records} records; "
            f"{raw_records - events} re-sent by a relay, deduplicated by the consumers)"
        )
        print(f"stores: lost {lost}, duplicated {duplicated}; uneven per plan: {uneven}")
        print(f"redeliveries the inboxes turned away (outcome=duplicate): {dict(chaos.duplicates)}")
        print(
            f"e-mails: {len(set(mails))} distinct of {len(want_mails)} expected, {len(mails)} caught "
            f"({len(mails) - len(set(mails))} raw repeats); SMS: {len(set(texts))} distinct of "
            f"{len(want_texts)}, {len(texts)} caught ({len(texts) - len(set(texts))} raw repeats)"
        )
        print(
            f"dead letters: {dead or 0}; privacy: {len(scan.public(prefix))} findings on public "
            f"topics, {len(log_findings)} in logs, {len(scan.private(prefix))} on private contacts topics"
        )
        print(
            f"run time: {load_seconds:.0f} s load with faults + {settle_seconds:.0f} s to settle, "
            f"{time.monotonic() - t0:.0f} s in all"
        )

    # --- the faults happened, while work was in flight ------------------------------------------
    assert chaos.done == len(faults)
    assert Counter(f.service for f in faults if f.kind == "kill") == {s: KILLS_PER_SERVICE for s in SERVICES}
    assert [f.kind for f in faults if f.kind != "kill"].count("kafka") == 1
    for f in faults:
        assert f.submitted_then < PLANS, f"{f.kind} {f.service} came after the load"
        if f.kind == "kill":
            assert f.service is not None and f.in_flight is not None
            assert f.in_flight < FINAL[f.service], f"{f.service} had nothing left to do when killed"
    assert next(f for f in faults if f.kind == "terminate").terminated > 0
    assert figures.unanswered > 0  # some requests did die with the server or the database
    assert set(chaos.fault_exits) == set(SERVICES)
    # Redeliveries did reach the consumers (the forced crash after a consumer's commit makes its
    # next life read the batch again). Most effects of this loop are also idempotent by
    # themselves (a review per plan and kind, a delivery per cause, channel and recipient,
    # closing a closed space changes nothing); the IRM's apply probe is what shows the inbox
    # itself turned them away.
    assert chaos.duplicates["irm"] > 0 and chaos.duplicates["consultation"] > 0, chaos.duplicates
    assert raw_records > events  # the plans relay's forced crash re-sent what Kafka already had
    assert len(mails) + len(texts) > len(set(mails)) + len(set(texts))  # and notifications' re-sent

    # --- exactly once ---------------------------------------------------------------------------
    assert figures.submitted == PLANS and len(plan_ids) == PLANS
    assert {k: int(x) for k, x in found.items()} == expected
    assert by_kind == {
        ("plan_submitted", "email"): 2 * PLANS, ("plan_submitted", "sms"): PLANS,
        ("review_scheduled", "email"): 2 * PLANS, ("review_scheduled", "sms"): PLANS,
    }  # fmt: skip
    assert uneven == {"plans": {}, "consultation": {}, "irm": {}}
    assert outboxes["irm"]["ogp.irm.review_scheduled.v1"] == PLANS
    assert outboxes["notifications"]["ogp.notifications.delivery_sent.v1"] == 6 * PLANS
    assert on_topics == relayed  # every outbox row reached its topic (a re-send adds no new id)
    assert dead == {}
    for name in SERVICES:
        assert await checks.unpublished(dsn[name]) == 0
    for name, names in consumed.items():
        assert await checks.lag(kafka.bootstrap, f"{prefix}sharaka-{name}", names) == dict.fromkeys(names, 0)

    # --- every message once (repeats only within the documented gap, and counted) ---------------
    assert set(mails) == want_mails and len(want_mails) == PLANS * MAILS_PER_PLAN
    assert set(texts) == want_texts and len(want_texts) == PLANS * SMS_PER_PLAN
    repeats = (len(mails) - len(set(mails))) + (len(texts) - len(set(texts)))
    # At most the chunk in flight per interruption of the worker between send and record: its
    # kills, its forced crash, the PostgreSQL restart and the terminated connections.
    assert repeats <= CHUNK * (KILLS_PER_SERVICE + 3), "more repeats than one chunk per crash"

    # --- privacy -------------------------------------------------------------------------------
    assert sum(scan.records.values()) == raw_records  # the scan read every record the checks did
    for p in procs.values():
        assert '"level": "info"' in p.log_text(), p.name  # INFO lines were written and scanned
    assert scan.public(prefix) == [], "\n".join(map(str, scan.public(prefix)[:20]))
    assert log_findings == [], "\n".join(map(str, log_findings[:20]))
    # The scan sees personal data where it does travel: each point of contact's address.
    private = {f.value for f in scan.private(prefix)}
    assert {load.contact_email(i) for i in range(PLANS)} <= private

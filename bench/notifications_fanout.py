"""Benchmark of the notifications service's fan-out: ``uv run python -m bench.notifications_fanout``.

Starts its own throw-away PostgreSQL, the local SMTP catcher and the local SMS gateway catcher
(each its own process, as under ``make run``, writing one file per message caught; nothing leaves
the machine), applies the notifications migrations, and times, through the service's own use
cases and delivery worker (one process, as one replica):

1. one event to ``--subscribers`` followers of a plan: the fan-out (deliveries queued in one
   transaction), then every e-mail accepted by the SMTP catcher;
2. the baseline in the same run: aiosmtplib alone sending the same number of messages, of the
   same size, to the same catcher over the same number of connections;
3. one event to ``--sms`` followers who chose SMS, sent to the SMS catcher through the Twilio-shaped
   adapter (rate limit raised to ``--sms-rate``); baseline: plain httpx POSTs of the same form;
4. a daily digest for ``--subscribers`` people with three held items each: made and sent.

Targets (issue 10): ≥ 500 e-mails/s (10,000 in ≤ 20 s), ≥ 200 SMS/s, 10,000 digests built and sent
in ≤ 30 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import time
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import aiosmtplib
import asyncpg
import httpx

from bench.lib import RESULTS
from devstack.mail import MailDaemon
from devstack.postgres import PostgresCluster
from devstack.sms import DEV_ACCOUNT_SID, DEV_TOKEN, SmsDaemon
from services.notifications.domain.triggers import ScopeType, Trigger
from services.notifications.mailer import Mailer
from services.notifications.messages import Links, render
from services.notifications.service import SPEC
from services.notifications.settings import NotificationsSettings
from services.notifications.sms import gateway_from
from services.notifications.store import NotificationsUnitOfWork, PgNotificationsUnitOfWork
from services.notifications.use_cases import fan_out
from services.notifications.worker import DeliveryWorker
from shared.db import SHARED_MIGRATIONS, create_pool, load_migrations, migrate
from shared.uow import unit_of_work

TARGET_EMAIL_PER_S = 500.0
TARGET_SMS_PER_S = 200.0
TARGET_DIGEST_S = 30.0


async def _seed(pool: asyncpg.Pool, n: int, *, channel: str, digest: str = "immediate") -> UUID:
    """``n`` confirmed people following one new plan; the plan's id."""
    plan = uuid4()
    ids = [uuid4() for _ in range(n)]
    await pool.execute(
        """INSERT INTO recipients (id, name, email, phone, language, kind, channels, digest, confirmed_at,
                                   next_digest_at)
           SELECT i, 'Person ' || n, CASE WHEN $2 = 'email' THEN 'p' || n || '@example.org' END,
                  CASE WHEN $2 = 'sms' THEN '+2162' || lpad(n::text, 7, '0') END,
                  (ARRAY['ar','en','fr','es'])[1 + n % 4], 'account', ARRAY[$2], $3, now(), NULL
           FROM unnest($1::uuid[]) WITH ORDINALITY AS t(i, n)""",
        ids, channel, digest,
    )  # fmt: skip
    await pool.execute(
        """INSERT INTO subscriptions (id, recipient_id, scope_type, scope_id, kinds, confirmed_at)
           SELECT gen_random_uuid(), i, 'plan', $2, '{}', now() FROM unnest($1::uuid[]) AS t(i)""",
        ids, plan,
    )  # fmt: skip
    await pool.execute(
        "INSERT INTO plan_contacts (plan_id, member_id, contact_id, title) VALUES ($1, $2, $3, $4)",
        plan, uuid4(), ids[0], "Open government action plan 2026-2028",
    )  # fmt: skip
    return plan


def _trigger(plan: UUID) -> Trigger:
    return Trigger(
        "plan_submitted", uuid4(), datetime.now(UTC), {ScopeType.PLAN: plan}, {"submitted_on": "2026-11-29"}
    )


async def _drain(worker: DeliveryWorker, pool: asyncpg.Pool) -> None:
    while await worker.run_once():
        pass
    left = await pool.fetchval("SELECT count(*) FROM deliveries WHERE status = 'pending'")
    if left:
        raise RuntimeError(f"{left} deliveries still pending")


async def _baseline_smtp(settings: NotificationsSettings, n: int) -> float:
    links = Links("https://example.org/u", "https://example.org/p")
    params = {"plan_title": "Open government action plan", "submitted_on": "2026-11-29"}
    content = render("plan_submitted", "en", params,
                     name="Person", links=links)  # fmt: skip
    messages: list[EmailMessage] = []
    for i in range(n):
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = settings.mail_from, f"p{i}@example.org", content.subject
        msg.set_content(content.text)
        msg.add_alternative(content.html, subtype="html")
        messages.append(msg)
    queue: asyncio.Queue[EmailMessage] = asyncio.Queue()
    for m in messages:
        queue.put_nowait(m)

    async def connection() -> None:
        client = aiosmtplib.SMTP(hostname=settings.smtp_host, port=settings.smtp_port)
        await client.connect()
        while not queue.empty():
            await client.send_message(queue.get_nowait())
        await client.quit()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(settings.smtp_connections)))
    return time.perf_counter() - started


async def _baseline_sms(url: str, n: int, concurrency: int) -> float:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)
    endpoint = f"{url}/2010-04-01/Accounts/{DEV_ACCOUNT_SID}/Messages.json"
    async with httpx.AsyncClient(auth=(DEV_ACCOUNT_SID, DEV_TOKEN)) as client:

        async def sender() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                r = await client.post(endpoint, data={"To": f"+2162{i:07d}", "From": "+15005550006",
                                                      "Body": "Sharaka: plan submitted"})  # fmt: skip
                r.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        return time.perf_counter() - started


class _Caught:
    """What a catcher process wrote: one file per message."""

    def __init__(self, folder: Path, pattern: str) -> None:
        self.folder, self.pattern = folder, pattern

    def clear(self) -> None:
        for f in self.folder.glob(self.pattern):
            f.unlink()

    def __len__(self) -> int:
        return sum(1 for _ in self.folder.glob(self.pattern))


async def _run(
    args: argparse.Namespace, pg: PostgresCluster, mail: MailDaemon, sms: SmsDaemon
) -> dict[str, Any]:
    pg.create_database("bench_notifications")
    dsn = pg.dsn("bench_notifications")
    pool = await create_pool(dsn, min_size=2, max_size=8)
    await migrate(pool, load_migrations(("shared", SHARED_MIGRATIONS), ("notifications", SPEC.migrations)))
    settings = NotificationsSettings(
        database_url=dsn, smtp_host=mail.host, smtp_port=mail.port, sms_provider="twilio", sms_url=sms.url,
        sms_rate_per_s=args.sms_rate, smtp_connections=args.connections, delivery_chunk_size=args.chunk,
        delivery_batch_size=500,
    )  # fmt: skip

    @asynccontextmanager
    async def units() -> Any:
        async with unit_of_work(pool, "notifications", PgNotificationsUnitOfWork) as uow:
            yield uow

    caught_mail, caught_sms = _Caught(mail.folder, "*.eml"), _Caught(sms.folder, "*.json")
    mailer = Mailer(settings)
    gateway = gateway_from(settings)
    worker = DeliveryWorker(units, settings, mailer, gateway)
    rows: dict[str, Any] = {}

    async def fan(plan: UUID) -> float:
        started = time.perf_counter()
        async with units() as uow:
            typed: NotificationsUnitOfWork = uow
            await fan_out.notify(typed, _trigger(plan))
        return time.perf_counter() - started

    # 1. e-mail fan-out
    plan = await _seed(pool, args.subscribers, channel="email")
    caught_mail.clear()
    fan_s = await fan(plan)
    started = time.perf_counter()
    await _drain(worker, pool)
    send_s = time.perf_counter() - started
    caught = len(caught_mail)
    rows["email"] = {"n": args.subscribers, "fan_out_s": fan_s, "send_s": send_s, "caught": caught}
    # 2. baseline
    caught_mail.clear()
    baseline_s = await _baseline_smtp(settings, args.subscribers)
    rows["email_baseline"] = {"n": args.subscribers, "send_s": baseline_s,
                              "caught": len(caught_mail)}  # fmt: skip
    # 3. SMS
    plan = await _seed(pool, args.sms, channel="sms")
    caught_sms.clear()
    fan_s = await fan(plan)
    started = time.perf_counter()
    await _drain(worker, pool)
    rows["sms"] = {"n": args.sms, "fan_out_s": fan_s, "send_s": time.perf_counter() - started,
                   "caught": len(caught_sms)}  # fmt: skip
    caught_sms.clear()
    rows["sms_baseline"] = {"n": args.sms, "send_s": await _baseline_sms(sms.url, args.sms, args.chunk),
                            "caught": len(caught_sms)}  # fmt: skip
    # 4. digests
    plan = await _seed(pool, args.subscribers, channel="email", digest="daily")
    for _ in range(3):
        await fan(plan)
    await pool.execute("UPDATE recipients SET next_digest_at = now() WHERE digest = 'daily'")
    caught_mail.clear()
    started = time.perf_counter()
    made = await worker.make_digests()
    build_s = time.perf_counter() - started
    await _drain(worker, pool)
    rows["digest"] = {"n": made, "build_s": build_s, "total_s": time.perf_counter() - started,
                      "caught": len(caught_mail)}  # fmt: skip
    await mailer.aclose()
    if gateway is not None:
        await gateway.aclose()
    await pool.close()
    return rows


def render_table(r: dict[str, Any], args: argparse.Namespace) -> str:
    e, eb, s, sb, d = r["email"], r["email_baseline"], r["sms"], r["sms_baseline"], r["digest"]
    email_rate = e["n"] / e["send_s"]
    sms_rate = s["n"] / s["send_s"]
    lines = [
        f"| measure (one process, {args.connections} SMTP connections, chunk {args.chunk}) | n | time "
        "| rate | "
        "baseline, same run | ratio | target |",
        "|---|---:|---:|---:|---:|---:|---|",
        f"| fan-out of one event (queued in one transaction) | {e['n']:,} | {e['fan_out_s']:.2f} s | "
        f"{e['n'] / e['fan_out_s']:,.0f}/s | | | |",
        f"| e-mails accepted by the SMTP catcher ({e['caught']:,} caught) | {e['n']:,} "
        f"| {e['send_s']:.2f} s | "
        f"{email_rate:,.0f}/s | aiosmtplib alone {eb['n'] / eb['send_s']:,.0f}/s | "
        f"{email_rate / (eb['n'] / eb['send_s']):.2f} | ≥ {TARGET_EMAIL_PER_S:.0f}/s |",
        f"| SMS accepted by the gateway catcher ({s['caught']:,} caught; limit {args.sms_rate:.0f}/s) "
        f"| {s['n']:,} | "
        f"{s['send_s']:.2f} s | {sms_rate:,.0f}/s | httpx alone {sb['n'] / sb['send_s']:,.0f}/s | "
        f"{sms_rate / (sb['n'] / sb['send_s']):.2f} | ≥ {TARGET_SMS_PER_S:.0f}/s |",
        f"| daily digests (3 items each) built | {d['n']:,} | {d['build_s']:.2f} s "
        f"| {d['n'] / d['build_s']:,.0f}/s | | | |",
        f"| daily digests built and sent ({d['caught']:,} caught) | {d['n']:,} | {d['total_s']:.2f} s | "
        f"{d['n'] / d['total_s']:,.0f}/s | | | ≤ {TARGET_DIGEST_S:.0f} s |",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.notifications_fanout", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--sms", type=int, default=2_000)
    parser.add_argument("--sms-rate", type=float, default=1_000.0, help="the adapter's rate limit in the run")
    parser.add_argument("--connections", type=int, default=8, help="SMTP connections")
    parser.add_argument(
        "--chunk", type=int, default=32, help="messages sent side by side and recorded together"
    )
    parser.add_argument("--json", type=Path, default=RESULTS / "notifications_fanout-latest.json")
    args = parser.parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="sharaka-bench-notifications-"))
    pg = PostgresCluster(home / "pg")
    mail = MailDaemon(home / "mail")
    sms = SmsDaemon(home / "sms")
    try:
        pg.start()
        mail.start()
        sms.start()
        wall = time.perf_counter()
        rows = asyncio.run(_run(args, pg, mail, sms))
        rows["wall_s"] = round(time.perf_counter() - wall, 1)
    finally:
        sms.stop()
        mail.stop()
        pg.stop()
        shutil.rmtree(home, ignore_errors=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=2, default=str) + "\n", encoding="utf-8")
    print(render_table(rows, args))
    print(f"\n(whole run {rows['wall_s']}s; JSON in {args.json})")


if __name__ == "__main__":
    main()

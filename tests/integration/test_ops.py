"""``python -m shared.ops`` against the real broker and database, run as the operator runs it:
a separate process configured only by the service's own environment variables."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, date, datetime
from uuid import UUID, uuid4

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient

from services.irm.service import SPEC as IRM
from services.irm.settings import IrmSettings
from shared.events import topics
from shared.events.plans import PlanSubmitted
from tests.conftest import REPO, Env, running
from tests.helpers import as_record, eventually, fetchval, header, produce, read_topic


async def ops(env: Env, *args: str) -> tuple[int, str, str]:
    """The command as a subprocess with exactly the IRM pod's kind of environment."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "shared.ops", *args,
        env=env.env_vars("IRM_", "irm"), cwd=str(REPO),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def submitted(title: str = "Open contracting") -> PlanSubmitted:
    return PlanSubmitted(
        plan_id=uuid4(), member_id=uuid4(), title=title,
        start_date=date(2025, 9, 1), end_date=date(2027, 8, 31), commitment_count=4,
        point_of_contact_id=uuid4(), submitted_at=datetime(2025, 10, 31, 12, tzinfo=UTC),
    )  # fmt: skip


async def committed(env: Env, group: str) -> dict[tuple[str, int], int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=env.kafka.bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()}


async def copies_on_source(env: Env, ce_id: str, expected: int) -> int:
    records = await read_topic(
        env.kafka.bootstrap,
        env.topic(topics.PLANS),
        until=lambda rs: sum(header(r, "ce_id") == ce_id for r in rs) >= expected,
        timeout=3,
    )
    return sum(header(r, "ce_id") == ce_id for r in records)


async def test_dead_letters_listed_inspected_replayed_once_and_the_group_reset(env: Env) -> None:
    settings = env.settings(IrmSettings, "irm", consumer_max_attempts=2)
    key, value, headers = as_record(submitted())
    ce_id = dict(headers)["ce_id"].decode()
    poison = json.loads(value)
    poison["commitment_count"] = "lots"

    async with running(IRM, settings):
        await produce(
            env.kafka.bootstrap, env.topic(topics.PLANS), [(key, json.dumps(poison).encode(), headers)]
        )

        async def listed() -> list[dict[str, str]]:
            rc, out, _ = await ops(env, "dlq", "list", "--service", "irm", "--json")
            assert rc == 0
            return [json.loads(line) for line in out.splitlines()]

        rows = await eventually(listed, until=lambda rs: len(rs) >= 1, timeout=40)
        assert [r["reason"] for r in rows] == ["schema_invalid"]
        assert rows[0]["event_id"] == ce_id
        assert "commitment_count" in rows[0]["detail"]

        # The service is running: its group has a member, so the offsets cannot be moved.
        rc, _, err = await ops(env, "group", "reset", "--service", "irm", "--to", "earliest", "--yes")
        assert rc == 2
        assert "active member" in err and "replicas=0" in err

    partition, offset = str(rows[0]["partition"]), str(rows[0]["offset"])
    rc, out, _ = await ops(
        env, "dlq", "inspect", "--service", "irm", "--partition", partition, "--offset", offset
    )
    assert rc == 0
    assert "reason:   schema_invalid" in out
    assert f"ce_id: {ce_id}" in out
    assert '  "commitment_count": "lots",' in out  # the payload, pretty-printed
    rc, _, err = await ops(
        env, "dlq", "inspect", "--service", "irm", "--partition", partition, "--offset", "99"
    )
    assert rc == 2 and "no dead letter" in err

    rc, out, err = await ops(env, "dlq", "replay", "--service", "irm", "--dry-run")
    assert rc == 0 and "1 dead letters would be replayed" in err and ce_id in out
    assert await copies_on_source(env, ce_id, 2) == 1  # nothing sent
    assert await committed(env, env.prefix + "sharaka-irm-dlq-replay") == {}  # no progress kept

    rc, out, err = await ops(env, "dlq", "replay", "--service", "irm")
    assert rc == 0 and "1 dead letters replayed" in err
    assert await copies_on_source(env, ce_id, 2) == 2
    replayed = [
        r
        for r in await read_topic(env.kafka.bootstrap, env.topic(topics.PLANS), until=lambda rs: len(rs) >= 2)
        if header(r, "ce_id") == ce_id
    ][-1]
    assert header(replayed, "dlq_reason") is None and replayed.key == key

    rc, _, err = await ops(env, "dlq", "replay", "--service", "irm")
    assert rc == 0 and "0 dead letters replayed" in err  # once per letter
    assert await copies_on_source(env, ce_id, 3) == 2

    # Stopped: the group can be moved; without --yes nothing happens.
    group = env.prefix + "sharaka-irm"
    before = await committed(env, group)
    plans_offsets = [o for (t, _), o in before.items() if t == env.topic(topics.PLANS)]
    assert sum(plans_offsets) == 1  # the poison was consumed; the replay came after the stop
    rc, _, err = await ops(env, "group", "reset", "--service", "irm", "--to", "earliest")
    assert rc == 2 and "--yes" in err
    assert await committed(env, group) == before

    rc, out, _ = await ops(env, "group", "reset", "--service", "irm", "--to", "earliest", "--yes")
    assert rc == 0, out
    after = await committed(env, group)
    assert {tp for tp in after if tp[0] == env.topic(topics.PLANS)} == {
        (env.topic(topics.PLANS), p) for p in range(3)
    }
    assert set(after.values()) == {0}

    rc, out, _ = await ops(
        env, "group", "reset", "--service", "irm", "--to", "2999-01-01T00:00:00",
        "--topic", topics.PLANS, "--yes",
    )  # fmt: skip
    assert rc == 0
    ends = await committed(env, group)
    assert sum(o for (t, _), o in ends.items() if t == env.topic(topics.PLANS)) == 2  # poison + replay


async def reviews_of(dsn: str, plan_id: UUID) -> int:
    return int(await fetchval(dsn, "SELECT count(*) FROM reviews WHERE plan_id = $1", plan_id))


async def test_rebuild_prints_the_steps_and_rebuilds_the_irm_projection(env: Env) -> None:
    settings = env.settings(IrmSettings, "irm")
    plan = submitted()
    seen = "SELECT count(*) FROM plans_seen WHERE plan_id = $1"
    async with running(IRM, settings):
        await produce(env.kafka.bootstrap, env.topic(topics.PLANS), [as_record(plan)])
        await eventually(lambda: reviews_of(settings.database_url, plan.plan_id))
    group = env.prefix + "sharaka-irm"
    before = await committed(env, group)

    rc, out, err = await ops(env, "rebuild", "--service", "irm")
    assert rc == 0 and "--yes" in err
    assert "TRUNCATE plans_seen, irm_commitments, compliance_facts" in out
    assert await committed(env, group) == before  # nothing done

    # Step 3 as printed, then step 4 by the command.
    sql = out[out.index("BEGIN;") : out.index("COMMIT;") + len("COMMIT;")]
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()
    assert await fetchval(settings.database_url, seen, plan.plan_id) == 0
    rc, _, err = await ops(env, "rebuild", "--service", "irm", "--yes")
    assert rc == 0, err
    assert set((await committed(env, group)).values()) == {0}

    async with running(IRM, settings):  # step 5: it reads everything again
        await eventually(lambda: fetchval(settings.database_url, seen, plan.plan_id))
    assert await reviews_of(settings.database_url, plan.plan_id) == 1  # the source of truth untouched


async def test_migrate_check_then_migrate(env: Env) -> None:
    rc, out, _ = await ops(env, "migrate", "--service", "irm", "--check")
    assert rc == 1
    assert "pending shared:0001_outbox_inbox" in out and "pending irm:0001_init" in out

    rc, out, _ = await ops(env, "migrate", "--service", "irm")
    assert rc == 0 and "applied irm:0001_init" in out

    rc, out, err = await ops(env, "migrate", "--service", "irm", "--check")
    assert rc == 0 and out == "" and "0 pending" in err
    rc, out, _ = await ops(env, "migrate", "--service", "irm")
    assert rc == 0 and out == ""  # nothing left to apply

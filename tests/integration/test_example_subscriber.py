"""The example subscriber of the subscriber kit (`examples/subscriber`) against the real test
Kafka: valid records counted per type, a redelivery deduplicated on ce_id, an unknown version and
an unknown type skipped, poison records counted and never fatal; in-process and as the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import uuid4

from examples.subscriber.subscriber import Checker, load_schemas, run
from shared.events import topics
from shared.events.plans import MemberCreated, MemberKind, PlanSubmitted
from tests.conftest import Env
from tests.helpers import as_record, produce

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "schemas" / "events"


def submitted() -> PlanSubmitted:
    return PlanSubmitted(
        plan_id=uuid4(), member_id=uuid4(), title="Beneficial ownership",
        start_date=date(2025, 9, 1), end_date=date(2027, 8, 31), commitment_count=4,
        point_of_contact_id=uuid4(), submitted_at=datetime(2025, 10, 31, 12, tzinfo=UTC),
    )  # fmt: skip


def _with_type(record: tuple[bytes, bytes, list[tuple[str, bytes]]], ce_type: str) -> tuple:
    key, value, headers = record
    return key, value, [(k, ce_type.encode() if k == "ce_type" else v) for k, v in headers]


EXPECTED = {
    "records": 9,
    "valid": {"ogp.plans.plan_submitted.v1": 2, "ogp.plans.member_created.v1": 1},
    "skipped": {"ogp.plans.plan_submitted.v9": 1, "ogp.plans.plan_renamed.v1": 1},
    "invalid": {"ogp.plans.plan_submitted.v1": 2, "<no ce_type>": 1},
    "duplicates": 1,
}


async def _produce_mix(env: Env) -> str:
    topic = env.topic(topics.PLANS)
    first = as_record(submitted())
    member = MemberCreated(
        member_id=uuid4(), name="Kenya", kind=MemberKind.NATIONAL, created_at=datetime.now(UTC)
    )
    key, _, headers = as_record(submitted())
    await produce(
        env.kafka.bootstrap,
        topic,
        [
            first,
            as_record(submitted()),
            as_record(member),
            first,  # redelivered: same ce_id
            _with_type(as_record(submitted()), "ogp.plans.plan_submitted.v9"),  # a version we do not know
            _with_type(as_record(submitted()), "ogp.plans.plan_renamed.v1"),  # a type we do not know
            (key, b"{not json", headers),  # poison: not JSON
            (key, json.dumps({"plan_id": "not-a-uuid"}).encode(), headers),  # poison: schema
            (key, b"{}", [(k, v) for k, v in headers if k != "ce_type"]),  # not a CloudEvent
        ],
    )
    return topic


async def test_the_example_reads_from_the_start_and_survives_bad_records(env: Env) -> None:
    topic = await _produce_mix(env)
    summary = await run(
        bootstrap=env.kafka.bootstrap, topic=topic, group=f"{env.prefix}my-system", max_records=9,
        idle_seconds=15,
    )  # fmt: skip
    assert summary.as_dict() == EXPECTED

    # The offsets were committed: the same group has nothing more to read.
    again = await run(
        bootstrap=env.kafka.bootstrap, topic=topic, group=f"{env.prefix}my-system", idle_seconds=1.5
    )
    assert again.records == 0

    # The command line, as a subscribing team would run it, with a group of its own.
    out = subprocess.run(
        [
            sys.executable, "-m", "examples.subscriber", "--bootstrap", env.kafka.bootstrap,
            "--topic", topic, "--group", f"{env.prefix}other-system", "--max-records", "9",
            "--idle-seconds", "15", "--json", "--quiet",
        ],
        capture_output=True, text=True, cwd=REPO, timeout=60, check=True,
    )  # fmt: skip
    assert json.loads(out.stdout) == EXPECTED


def test_the_schema_check_rejects_what_the_contract_rejects() -> None:
    checker = Checker(load_schemas(SCHEMAS))
    good = json.loads(submitted().model_dump_json())
    headers = {"ce_type": "ogp.plans.plan_submitted.v1"}
    cases = {
        "ok": good,
        "bad uuid": {**good, "plan_id": "x"},
        "bad date": {**good, "start_date": "2025-13-01"},
        "bad type": {**good, "commitment_count": "four"},
        "missing": {k: v for k, v in good.items() if k != "title"},
        "extra field": {**good, "added_later": 1},  # optional fields may be added: still valid
    }
    for name, doc in cases.items():
        checker.handle({**headers, "ce_id": name}, json.dumps(doc).encode(), name)
    assert checker.summary.valid == {"ogp.plans.plan_submitted.v1": 2}
    assert checker.summary.invalid == {"ogp.plans.plan_submitted.v1": 4}

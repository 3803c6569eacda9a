"""The whole-loop benchmark drives the services with the events plans' handlers publish, and its
table puts each consumer's figures next to the raw baseline."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any

from bench.lib.raw import Result
from bench.loop_report import render
from bench.loop_run import STAGES, PlanIds
from shared.events import topics
from shared.events.plans import ContactRegistered, PlanCreated, PlanSubmitted


def test_a_plan_is_created_with_its_contact_on_the_private_topic_then_submitted() -> None:
    plan = PlanIds(uuid.uuid4(), uuid.uuid4(), uuid.uuid4())
    contact, created = plan.created()
    assert isinstance(contact, ContactRegistered) and contact.topic == topics.PLANS_CONTACTS
    assert contact.contact_id == plan.contact_id and contact.email
    assert isinstance(created, PlanCreated) and created.point_of_contact_id == plan.contact_id
    [submitted] = plan.submitted()
    assert isinstance(submitted, PlanSubmitted)
    assert (submitted.plan_id, submitted.member_id) == (plan.plan_id, plan.member_id)
    assert submitted.point_of_contact_id == plan.contact_id


def _row(scenario: str, system: str, per_s: float, rate: float | None = None) -> dict[str, Any]:
    stages = {label: {"p50": 10.0, "p99": 20.0} for label in STAGES.values()} if system == "sharaka" else {}
    return asdict(Result(scenario=scenario, system=system, events=100, completed=100, target_rate=rate,
                         elapsed_s=1.0, events_per_s=per_s, offered_per_s=500.0,
                         latency_ms={"p50": 1.0, "p95": 2.0, "p99": 3.0, "max": 4.0}, stages_ms=stages,
                         cpu_cores={"notifications": 0.5, "irm": 0.2},
                         cpu_ms_per_event={"notifications": 5.0, "irm": 2.0, "total (ours + irq)": 7.0}))  # fmt: skip


def test_the_table_names_each_drain_and_its_ratio_to_raw() -> None:
    report = {
        "run_at": "2026-11-30T00:00:00+00:00",
        "machine": {"nproc": 2, "cpus_usable": 2, "cpu_model": "cpu", "memory_gb": 1, "os": "Linux",
                    "python": "3.11", "kafka": "4", "postgres": "15", "postgres_settings": {}, "packages": {}},
        "code": {"commit": "abc", "uncommitted": []},
        "settings": {"bench_writers": 8},
        "results": [_row("loop latency @200/s", "sharaka", 199.0, 200.0), _row("loop throughput (8 writers)",
                    "sharaka", 250.0), _row("notifications drain (consumer alone)", "sharaka", 100.0),
                    _row("raw throughput", "raw", 5000.0)],
        "profiles": [],
    }  # fmt: skip
    table = render(report)
    assert "ratio to raw throughput, notifications drain (consumer alone): 0.020" in table
    assert "ratio to raw throughput, loop throughput (8 writers): 0.050" in table
    assert "| notifications drain (consumer alone) | 100 | 100.0 |" in table
    assert "10.0 / 20.0" in table  # each service's latency
    assert "| 286 |" in table  # 2 cores / 7 ms per event

"""The tables of ``bench.loop``: the loop next to the raw baseline, each consumer's latency, the
drains, and CPU per part."""

from __future__ import annotations

import json
from typing import Any

from bench.lib.report import cpu_tables, fmt, latency_table
from bench.loop_run import CONSUMERS, STAGES

_PARTS = ["bench", "plans", *CONSUMERS, "smtp catcher", "raw consumer", "kafka", "postgres", "kernel irq",
          "other (not ours)", "vm steal", "machine (busy)"]  # fmt: skip


def _header(report: dict[str, Any]) -> list[str]:
    m, code = report["machine"], report["code"]
    return [
        f"## Sharaka whole-loop benchmark ({report['run_at']})",
        "",
        f"- machine: nproc={m['nproc']} (usable {m['cpus_usable']}), {m['cpu_model']}, "
        f"{m['memory_gb']} GB RAM, {m['os']}, Python {m['python']}; "
        f"{m.get('busy_cores_before_start', '?')} cores busy before start (other load)",
        f"- Kafka {m['kafka']}; PostgreSQL {m['postgres']} ("
        + ", ".join(f"{k}={v}" for k, v in m["postgres_settings"].items()) + ")",
        "- " + ", ".join(f"{k} {v}" for k, v in m["packages"].items()),
        f"- code: commit {code['commit']}"
        + (f", uncommitted changes in {', '.join(code['uncommitted'])}" if code["uncommitted"]
           else ", no uncommitted changes in shared/ or services/"),
        f"- settings: {json.dumps(report['settings'], default=str)}",
    ]  # fmt: skip


def _main_table(results: list[dict[str, Any]]) -> list[str]:
    lines = [
        "",
        *latency_table(results),
    ]
    return [
        *lines,
        "",
        "loop rows: latency = loop done (the last of irm's review, consultation's closed space and",
        "notifications' delivery committed) minus the plans outbox row's created_at; events/s = plans",
        "that went round / (first commit → last loop done). Drain rows: that consumer's first effect →",
        "its last (notifications: first delivery committed → last e-mail sent, both templates).",
        "Latencies are for the fixed-rate rows only; under saturation they measure the queue (see JSON).",
    ]


def _stages(results: list[dict[str, Any]]) -> list[str]:
    rows = [r for r in results if r["stages_ms"]]
    if not rows:
        return []
    short = ["relay published", "irm review", "consultation closed", "notif. committed", "notif. sent",
             "loop done"]  # fmt: skip
    lines = [
        "",
        "Latency by service, ms after the plans commit (p50 / p99):",
        "",
        "| scenario | " + " | ".join(short) + " | rows/relay pass plans, irm, consultation, notif. |",
        "|---|" + "---:|" * (len(short) + 1),
    ]
    for r in rows:
        cells = [f"{fmt(s.get('p50'))} / {fmt(s.get('p99'))}"
                 for s in (r["stages_ms"].get(label, {}) for label in STAGES.values())]  # fmt: skip
        passes = r["relay_rows_per_pass"]
        cells.append(", ".join(fmt(passes.get(k)) for k in ("plans", *CONSUMERS)))
        lines.append(f"| {r['scenario']} | " + " | ".join(cells) + " |")
    return [*lines, "", "columns: " + "; ".join(STAGES.values())]


def _cpu(results: list[dict[str, Any]], usable: float) -> list[str]:
    return cpu_tables(results, _PARTS, usable, [
        "CPU ms per event (per PlanSubmitted; loop rows count everything it causes: the review,",
        "the closed space, the ReviewScheduled and both e-mails; drain rows the drain window only).",
        f"bound events/s = {usable} cores ÷ total:",
    ])  # fmt: skip


def render(report: dict[str, Any]) -> str:
    results: list[dict[str, Any]] = report["results"]
    lines = _header(report) + _main_table(results) + [""]
    raw = next((r for r in results if r["scenario"] == "raw throughput"), None)
    loop = next((r for r in results if r["scenario"].startswith("loop throughput")), None)
    if loop:
        lines.append(f"- writer-only commit rate (plans transactions, {report['settings']['bench_writers']} "
                     f"writers): {fmt(loop['offered_per_s'])} tx/s")  # fmt: skip
    if raw and raw["events_per_s"]:
        for r in results:
            if r["system"] == "sharaka" and r["target_rate"] is None:
                lines.append(f"- ratio to raw throughput, {r['scenario']}: "
                             f"{r['events_per_s'] / raw['events_per_s']:.3f}")  # fmt: skip
    lines += _stages(results) + _cpu(results, report["machine"]["cpus_usable"])
    noisy = [r for r in results if r["cpu_cores"].get("other (not ours)", 0.0) > 0.25]
    if noisy:
        lines += [
            "",
            "WARNING: other programs used the CPU during "
            + ", ".join(f"{r['scenario']} ({r['cpu_cores']['other (not ours)']:.2f} cores)" for r in noisy)
            + ": those rows understate what this machine can do; rerun on a quiet machine.",
        ]
    if report["profiles"]:
        lines.append(f"- py-spy profiles of the throughput run: bench/results/logs/ {report['profiles']}")
    return "\n".join(lines)

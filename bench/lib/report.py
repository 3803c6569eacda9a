"""The end of every benchmark: the JSON report written atomically, then its table printed."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.lib import REPO

Report = dict[str, Any]


def write_report(report: Report, path: Path, render: Callable[[Report], str]) -> None:
    """``path`` gets the whole report or stays as it was; then the table on stdout."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_json = path.with_name(path.name + ".tmp")
    tmp_json.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp_json, path)
    print(render(report))
    shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path
    print(f"\n(whole run {report.get('wall_s', '?')}s; JSON in {shown})")


def cores_cell(cores: dict[str, float]) -> str:
    """The ``cores: service / postgres / client / other`` cell of the HTTP benchmarks' tables."""
    return (
        f"{cores.get('service', 0):.2f} / {cores.get('postgres', 0):.2f} / "
        f"{cores.get('load generator', 0):.2f} / {cores.get('other (not ours)', 0):.2f}"
    )


def fmt(value: float | None, digits: int = 1) -> str:
    """A table cell: thousands separated, "—" for no value (None or NaN)."""
    if value is None or value != value:
        return "—"
    return f"{value:,.{digits}f}"


def cpu_tables(
    results: list[dict[str, Any]], order: list[str], usable: float, per_event_caption: list[str]
) -> list[str]:
    """The two CPU tables of a run: cores busy per process group in each scenario, then CPU ms
    per event in the throughput scenarios with the rate the machine's cores bound it to
    (``usable`` cores ÷ the total). Groups in ``order`` first, others after, by name."""
    present = {k for r in results for k in r["cpu_cores"]}
    names = [n for n in order if n in present] + sorted(present - set(order))
    if not names:
        return []
    lines = [
        "",
        "CPU, cores busy on average during each scenario (1.0 = one core):",
        "",
        "| scenario | " + " | ".join(names) + " | busiest processes not ours |",
        "|---|" + "---:|" * len(names) + "---|",
    ]
    for r in results:
        busiest = ", ".join(f"{k} {v:.2f}" for k, v in r["other_top"].items()) or "—"
        row = " | ".join(fmt(r["cpu_cores"].get(n), 2) for n in names)
        lines.append(f"| {r['scenario']} | {row} | {busiest} |")
    per_event = [r for r in results if r["target_rate"] is None and r["cpu_ms_per_event"]]
    if per_event:
        seen = {k for r in per_event for k in r["cpu_ms_per_event"]}
        keys = [n for n in names if n in seen] + ["total (ours + irq)"]
        lines += ["", *per_event_caption, "", "| scenario | " + " | ".join(keys) + " | bound events/s |",
                  "|---|" + "---:|" * (len(keys) + 1)]  # fmt: skip
        for r in per_event:
            ms = r["cpu_ms_per_event"]
            total = ms.get("total (ours + irq)")
            bound = usable * 1000 / total if total else None
            row = " | ".join(fmt(ms.get(k), 3) for k in keys)
            lines.append(f"| {r['scenario']} | {row} | {fmt(bound, 0)} |")
    return lines


def latency_table(results: list[dict[str, Any]]) -> list[str]:
    """Each scenario's events, rate and latency (latency only for the fixed-rate runs)."""
    lines = [
        "| scenario | events | events/s | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lat = r["latency_ms"] if r["target_rate"] is not None else {}
        events = f"{r['completed']:,}" + ("" if r["completed"] == r["events"] else f" of {r['events']:,}")
        lines.append(
            f"| {r['scenario']} | {events} | {fmt(r['events_per_s'])} | {fmt(lat.get('p50'))} | "
            f"{fmt(lat.get('p95'))} | {fmt(lat.get('p99'))} | {fmt(lat.get('max'))} |"
        )
    return lines

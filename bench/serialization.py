"""The JSON encoders and decoders a record meets on the hot path, side by side, in microseconds per
event: which one the services use is chosen by this table, not by reputation.

``python -m bench.serialization`` (a few seconds, one core, no Kafka or Postgres). The events are
the bus's busiest, ``PlanSubmitted`` and ``ReviewScheduled``; the table gives the median of
several repeats of many calls each.

* **encode**: what :meth:`shared.events.envelope.Envelope.wrap` does per published event (the
  model is already validated: it is built by the domain), against ``orjson`` and ``json`` over
  ``model_dump(mode="json")``.
* **decode**: what :func:`shared.events.envelope.decode` does per consumed record, bytes to a
  validated model: pydantic-core's one pass (``model_validate_json``) against parsing first
  (``orjson`` / ``json``) and validating the dict.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import partial
from typing import Any
from uuid import uuid4

import orjson  # a development dependency: measured here, not used by the services

from bench.lib import RESULTS
from bench.lib.report import write_report
from shared.events.base import Event
from shared.events.irm import ReviewKind, ReviewScheduled
from shared.events.plans import PlanSubmitted


def _events() -> list[Event]:
    submitted = PlanSubmitted(
        plan_id=uuid4(), member_id=uuid4(), title="Plan d'action national 2025-2027",
        start_date=date(2025, 9, 1), end_date=date(2027, 8, 31), commitment_count=12,
        point_of_contact_id=uuid4(), submitted_at=datetime(2025, 10, 1, 9, 30, tzinfo=UTC),
    )  # fmt: skip
    scheduled = ReviewScheduled(
        review_id=uuid4(), plan_id=uuid4(), member_id=uuid4(), kind=ReviewKind.ACTION_PLAN_REVIEW,
        due_date=date(2026, 2, 1), scheduled_at=datetime(2025, 10, 1, 9, 31, tzinfo=UTC),
    )  # fmt: skip
    return [submitted, scheduled]


def _json_encode(event: Event) -> str:
    return json.dumps(event.model_dump(mode="json"))


def _json_decode(model: type[Event], data: bytes) -> Event:
    return model.model_validate(json.loads(data))


def _orjson_encode(event: Event) -> bytes:
    return bytes(orjson.dumps(event.model_dump(mode="json")))


def _orjson_decode(model: type[Event], data: bytes) -> Event:
    return model.model_validate(orjson.loads(data))


def _time_us(fn: Callable[[], object], calls: int, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(samples)


def measure(calls: int, repeats: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for event in _events():
        model = type(event)
        data = event.model_dump_json().encode()
        encoders: dict[str, Callable[[], object]] = {
            "pydantic model_dump_json (used)": event.model_dump_json,
            "json.dumps(model_dump)": partial(_json_encode, event),
            "orjson.dumps(model_dump)": partial(_orjson_encode, event),
        }
        decoders: dict[str, Callable[[], object]] = {
            "pydantic model_validate_json (used)": partial(model.model_validate_json, data),
            "json.loads + model_validate": partial(_json_decode, model, data),
            "orjson.loads + model_validate": partial(_orjson_decode, model, data),
        }
        for step, fns in (("encode", encoders), ("decode", decoders)):
            for name, fn in fns.items():
                rows.append({"event": model.__name__, "step": step, "how": name,
                             "us": round(_time_us(fn, calls, repeats), 2)})  # fmt: skip
    return rows


def render(report: dict[str, Any]) -> str:
    lines = ["| event | step | how | µs per event |", "|---|---|---|---:|"]
    lines += [f"| {r['event']} | {r['step']} | {r['how']} | {r['us']:.2f} |" for r in report["results"]]
    return "\n".join(lines)


def main() -> None:
    options = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    options.add_argument("--calls", type=int, default=20_000, help="calls per repeat")
    options.add_argument("--repeats", type=int, default=5)
    args = options.parse_args()
    started = time.monotonic()
    report = {"results": measure(args.calls, args.repeats), "calls": args.calls, "repeats": args.repeats}
    report["wall_s"] = round(time.monotonic() - started, 1)
    write_report(report, RESULTS / "serialization-latest.json", render)


if __name__ == "__main__":
    main()

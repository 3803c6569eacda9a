"""Named fault points: where a crash is most awkward, a test can force one.

A random SIGKILL rarely lands between "committed" and "acknowledged", so a test that only kills at
random hopes for the awkward moment instead of proving it. Each fault point names such a moment;
``SHARAKA_FAULTS`` (read once, at the first hit) lists the points to crash at and on which hit:

    SHARAKA_FAULTS="consumer.after_commit:3,relay.after_send"

exits the process (``os._exit``: no cleanup, no flush, like SIGKILL) the third time a consumer
has committed a batch it has not yet acknowledged, and the first time the relay has had Kafka's
acknowledgement for rows it has not yet marked published. Unset (production), a fault point is a
dictionary lookup and nothing else.

The points:

* ``consumer.after_commit``: a batch's effects and inbox rows are committed; its offsets are not.
* ``relay.after_send``: Kafka acknowledged a batch of outbox rows; they are not marked published.
* ``notifications.after_send``: a chunk of messages was handed to the SMTP server or SMS gateway;
  the outcomes are not recorded.
"""

from __future__ import annotations

import os
import sys

EXIT_CODE = 137  # what a shell reports for SIGKILL, so a test sees the same code either way

_plan: dict[str, int] | None = None
_hits: dict[str, int] = {}


def _parse(spec: str) -> dict[str, int]:
    plan: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, nth = item.partition(":")
        plan[name] = int(nth) if nth else 1
    return plan


def fault_point(name: str) -> None:
    """Crash here if ``SHARAKA_FAULTS`` asks for it at this hit."""
    global _plan
    if _plan is None:
        _plan = _parse(os.environ.get("SHARAKA_FAULTS", ""))
    if not _plan or name not in _plan:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] == _plan[name]:
        sys.stderr.write(f"fault point {name} reached (hit {_hits[name]}): exiting\n")
        sys.stderr.flush()
        os._exit(EXIT_CODE)


def reset(spec: str | None = None) -> None:
    """Forget the hits and re-read the plan (``spec`` instead of the environment if given)."""
    global _plan
    _hits.clear()
    _plan = None if spec is None else _parse(spec)

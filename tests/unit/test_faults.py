"""The fault points the crash tests rely on: a point exits the process (code 137, no cleanup) at
exactly the hit asked for, and never when it is not asked for. A test that forces a crash with
them proves nothing if the point fires early, late or not at all."""

from __future__ import annotations

import os
import subprocess
import sys

from shared import faults

SCRIPT = """
from shared.faults import fault_point
for i in range(1, 6):
    print("before", i, flush=True)
    fault_point("consumer.after_commit")
    fault_point("relay.after_send")
print("finished", flush=True)
"""


def _run(spec: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SHARAKA_FAULTS"}
    if spec is not None:
        env["SHARAKA_FAULTS"] = spec
    return subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60)


def test_a_point_exits_at_the_hit_asked_for_and_not_before() -> None:
    run = _run("consumer.after_commit:3")
    assert run.returncode == 137
    assert run.stdout.split("\n") == ["before 1", "before 2", "before 3", ""]
    assert "fault point consumer.after_commit reached (hit 3): exiting" in run.stderr


def test_without_a_count_the_first_hit_exits() -> None:
    run = _run("relay.after_send")
    assert run.returncode == 137
    assert run.stdout == "before 1\n"
    assert "fault point relay.after_send reached (hit 1)" in run.stderr


def test_several_points_each_count_their_own_hits() -> None:
    run = _run("consumer.after_commit:4, relay.after_send:2")
    assert run.returncode == 137
    assert run.stdout == "before 1\nbefore 2\n"  # relay.after_send's second hit comes first
    assert "relay.after_send reached (hit 2)" in run.stderr


def test_unset_or_naming_other_points_nothing_happens() -> None:
    for spec in (None, "", "notifications.after_send:1", "consumer.after_commit:9"):
        run = _run(spec)
        assert run.returncode == 0, (spec, run.stderr)
        assert run.stdout.endswith("finished\n"), spec
        assert run.stderr == "", spec


def test_reset_replaces_the_plan_in_process() -> None:
    faults.reset("some.other.point:2")
    try:
        for _ in range(3):
            faults.fault_point("consumer.after_commit")  # not planned: returns
        faults.fault_point("some.other.point")  # planned for its second hit: returns
        faults.reset("")
        faults.fault_point("some.other.point")  # the plan is empty now: no second hit counted
        faults.fault_point("some.other.point")
    finally:
        faults.reset()  # back to reading SHARAKA_FAULTS (unset in tests) at the next hit

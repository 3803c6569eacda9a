"""The fuzzing figures (requests sent, 5xx answers, non-conformances) at the end of the run, in
the terminal summary, whatever the capture mode."""

from __future__ import annotations

from collections import Counter

import pytest

#: service → counters, filled by the fuzz tests of this session.
TALLY: dict[str, Counter[str]] = {}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TALLY:
        return
    terminalreporter.section("OpenAPI fuzzing (schemathesis)")
    total: Counter[str] = Counter()
    for service, counts in sorted(TALLY.items()):
        total.update(counts)
        terminalreporter.write_line(
            f"{service:>13}: {counts['operations']} operations, {counts['requests']} requests, "
            f"{counts['5xx']} answers 5xx, {counts['failures']} non-conformances "
            f"(2xx {counts['2xx']} of which {counts['writes accepted']} writes, 4xx {counts['4xx']})"
        )
    terminalreporter.write_line(
        f"{'all':>13}: {total['operations']} operations, {total['requests']} requests, "
        f"{total['5xx']} answers 5xx, {total['failures']} non-conformances"
    )

"""The authorization matrix's figures (routes by roles, cells denied) in the terminal summary."""

from __future__ import annotations

from collections import Counter

import pytest

#: service → counters, filled by the matrix tests of this session.
MATRIX: dict[str, Counter[str]] = {}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not MATRIX:
        return
    terminalreporter.section("Authorization matrix")
    total: Counter[str] = Counter()
    for service, counts in sorted(MATRIX.items()):
        total.update(counts)
        terminalreporter.write_line(
            f"{service:>13}: {counts['routes']} write routes x {counts['roles']} roles = {counts['cells']} calls, "
            f"{counts['denied']} expected denied, {counts['allowed 2xx']} allowed calls answered 2xx"
        )
    terminalreporter.write_line(
        f"{'all':>13}: {total['routes']} write routes, {total['cells']} calls, {total['denied']} expected denied"
    )

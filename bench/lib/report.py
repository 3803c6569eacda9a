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

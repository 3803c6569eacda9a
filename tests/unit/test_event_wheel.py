"""The contracts as an installable wheel: `packages/sharaka-events/build.sh` builds it offline,
it installs into a throwaway venv, and a contract decodes a real record from it without the
repository on the path (pydantic comes from this venv's site-packages through a .pth file)."""

from __future__ import annotations

import json
import os
import subprocess
import venv
import zipfile
from pathlib import Path

import pydantic

from shared.events.base import event_types

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "packages" / "sharaka-events"
UV = REPO / ".local" / "tools" / "bin" / "uv"

PROBE = """
import json, sys
from datetime import UTC, date, datetime
from uuid import uuid4
import sharaka_events
from sharaka_events.base import event_types
from sharaka_events.envelope import Envelope, decode
from sharaka_events.plans import PlanSubmitted
try:
    import shared
except ImportError:
    pass
else:
    raise SystemExit("the repository leaked onto the path")
event = PlanSubmitted(
    plan_id=uuid4(), member_id=uuid4(), title="Beneficial ownership",
    start_date=date(2025, 9, 1), end_date=date(2027, 8, 31), commitment_count=4,
    point_of_contact_id=uuid4(), submitted_at=datetime(2025, 10, 31, 12, tzinfo=UTC),
)
record = Envelope.wrap(event, service="plans").to_record()
received = decode(record.headers, record.value)
assert received.event == event, received
from importlib.resources import files
schemas = sorted(p.name for p in files("sharaka_events").joinpath("schemas").iterdir())
print(json.dumps({"file": sharaka_events.__file__, "types": sorted(event_types()),
                  "schemas": schemas, "decoded": received.type}))
"""


def _build() -> Path:
    env = {**os.environ, "UV": str(UV)} if UV.exists() else dict(os.environ)
    subprocess.run(
        ["bash", str(PACKAGE / "build.sh"), "--offline"],
        check=True, env=env, capture_output=True, timeout=60,
    )  # fmt: skip
    (wheel,) = (PACKAGE / "dist").glob("sharaka_events-*.whl")
    return wheel


def test_the_wheel_builds_installs_and_decodes_a_record(tmp_path: Path) -> None:
    wheel = _build()
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        metadata = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "Requires-Dist: pydantic" in metadata
    assert "sharaka_events/envelope.py" in names and "sharaka_events/schemas.py" not in names

    target = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    py = target / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
    )  # fmt: skip
    uv = str(UV) if UV.exists() else "uv"
    subprocess.run(
        [uv, "pip", "install", "--offline", "--no-deps", "--no-cache", "--python", str(py), str(wheel)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    # pydantic (the one dependency) from this venv, without installing anything from a registry.
    (site / "_deps.pth").write_text(str(Path(pydantic.__file__).parents[1]) + "\n")

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    out = subprocess.run(
        [str(py), "-c", PROBE], check=True, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60
    )
    result = json.loads(out.stdout)
    assert result["file"].startswith(str(site))
    assert result["types"] == sorted(event_types())
    assert result["decoded"] == "ogp.plans.plan_submitted.v1"
    assert result["schemas"] == sorted(p.name for p in (REPO / "schemas" / "events").glob("*.json"))

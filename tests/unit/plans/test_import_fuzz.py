"""Whatever bytes arrive as an import, the reading of the file answers clearly: the file is
refused as a whole (:class:`Invalid`, a 422 saying why) or every record is either a row to write
or a row error, and reading it from a file in chunks gives what reading its bytes whole gives.
Bounded: a fixed number of examples, no deadline per example."""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.plans.imports import csv_table
from services.plans.imports.commitment_import import checked_rows
from services.plans.imports.ogp_layout import OGP_LAYOUT
from shared.errors import Invalid

#: The real header's first columns: enough to be taken as OGP's export.
HEADER = ",".join(f'"{c}"' for c in list(OGP_LAYOUT)[:20]).encode() + b"\r\n"

#: Cells as the real file has them, and, rarer, what breaks files: quotes, line ends inside
#: cells, control characters, bytes that are not UTF-8, a BOM.
_GOOD = [b"ND", b"NR", b"NA", b"Complete", b"July 2014", b"2019", b"AL0002", b"Albania", b"1", b"0",
         b" ", b"Not Applicable", "Ελλάδα".encode(), "مشاركة".encode(), b"\xc3\xa9", b'"', b'""',
         b",", b"\r\n"]  # fmt: skip
_BAD = [b"\n", b"\r", b"\x00", b"\x07", b"\xe9", b"\xc3", b"\xef\xbb\xbf"]
_PIECES = st.sampled_from(_GOOD * 12 + _BAD)
_CELL = st.lists(_PIECES, max_size=6).map(b"".join)
_ROW = st.lists(_CELL, min_size=1, max_size=24).map(lambda cells: b",".join(cells) + b"\r\n")


def _read(source: bytes | io.BytesIO) -> tuple[str, object]:
    try:
        report, rows = checked_rows(source)
    except Invalid as problem:
        return "refused", (problem.message, problem.errors)
    return "read", (report.as_dict(), [(r.line, r.key) for r in rows])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.lists(_ROW, max_size=12).map(b"".join), with_header=st.booleans(), chunk=st.integers(1, 9))
def test_any_body_is_refused_whole_or_read_row_by_row(
    body: bytes, with_header: bool, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = (HEADER if with_header else b"") + body
    kind, whole = _read(data)
    if kind == "read":
        report, rows = whole  # type: ignore[misc]
        assert report["rows"] == len(rows) + report["failed"]
        assert all(e["field"] and e["message"] for err in report["errors"] for e in err["errors"])
    else:
        message, _errors = whole  # type: ignore[misc]
        assert message  # says why
    monkeypatch.setattr(csv_table, "_CHUNK", chunk)
    assert _read(io.BytesIO(data)) == (kind, whole)

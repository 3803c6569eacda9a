"""The import package's pure parts: a file that cannot be imported at all is refused with
shared.errors.Invalid (the same 422 problem+json the HTTP API gave before), a use case's refusal
becomes a row error naming the spreadsheet's column, and the operator's command prints what
HTTP would answer."""

from __future__ import annotations

import io
import json
from pathlib import Path
from uuid import uuid4

import asyncpg
import pytest
from pydantic import ValidationError

from services.plans.imports import (
    C_COUNTRY,
    C_ID,
    C_PLAN,
    C_TECHNOLOGY,
    C_TITLE,
    C_YEAR,
    M_ID,
    M_KEY,
    M_STATUS,
    PROGRESS_CSV,
    RowFailure,
    csv_table,
    parse_progress,
    read_csv,
)
from services.plans.imports.cli import _unusable, run_cli
from services.plans.imports.commitments_sheet import FIELD_COLUMNS
from services.plans.imports.ogp_header import read_sheet
from services.plans.imports.ogp_layout import M
from services.plans.imports.report import err, errors_of
from services.plans.schemas import CommitmentIn
from shared.errors import Forbidden, Invalid, NotFound, RuleViolation
from shared.events.plans import MilestoneStatus
from shared.http import problem_for

HEADER = f"{C_ID},{C_COUNTRY},{C_YEAR},{C_PLAN},{C_TITLE}\r\n".encode()


def refused(data: bytes) -> Invalid:
    with pytest.raises(Invalid) as caught:
        read_sheet(data)
    return caught.value


# --- the file ---------------------------------------------------------------------------------


def test_a_readable_file_gives_its_columns_by_meaning_and_records() -> None:
    sheet, records = read_sheet(
        b"\xef\xbb\xbf" + HEADER.replace(b"\r\n", b",Favourite Colour\r\n")
        + b"U1,Utopia,2019,1,Good,blue\r\n\r\nU2,Utopia\r\n"
    )  # fmt: skip
    assert sheet.columns[M.TITLE] == C_TITLE and sheet.source == ("Favourite Colour",)
    first, second = list(records)
    assert (first.line, first.cells[C_TITLE], first.errors) == (2, "Good", [])
    assert second.line == 4
    assert second.errors == [err("row", "2 fields where the header has 6")]


def test_columns_are_matched_by_meaning_whatever_the_wording() -> None:
    sheet, _ = read_sheet(
        b"0,1,2,3,4,5\n"  # an index row above the header, as OGP's older exports have
        b"commitment unique identifier,COUNTRY,Year of submission,Action Plan No.,commitment title,Value -Info\n"
    )
    assert set(sheet.columns) == {M.ID, M.COUNTRY, M.YEAR, M.PLAN_NUMBER, M.TITLE, M.VALUE_ACCESS}
    assert sheet.source == ()


def test_a_persons_contact_columns_are_dropped_not_kept() -> None:
    sheet, _ = read_sheet(HEADER.replace(b"\r\n", b",Contact Email,Contact Telephone,Note\r\n"))
    assert sheet.dropped == ("Contact Email", "Contact Telephone") and sheet.source == ("Note",)


def test_header_errors_name_every_column_at_fault() -> None:
    missing = refused(f"{C_ID},{C_COUNTRY},{C_ID},Comm No,Commitment Number\r\n".encode())
    assert missing.errors == [
        (C_ID, "column given twice"),
        ("Commitment Number", "the same column as 'Comm No'"),
        (C_YEAR, "required column missing"),
        (C_PLAN, "required column missing"),
        (C_TITLE, "required column missing"),
    ]


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        (b"", "the file is empty: a header row is expected"),
        (b"\r\n  ,\r\n", "the file is empty: a header row is expected"),
        (
            b"PK\x03\x04" + bytes(100),
            "this is an XLSX or ZIP file, not a CSV file: export the sheet as CSV (UTF-8)",
        ),
        (b"%PDF-1.7\n", "this is a PDF, not a CSV file: export the sheet as CSV (UTF-8)"),
        (bytes(range(256)) * 4, "the file is binary, not CSV text: export the sheet as CSV (UTF-8)"),
    ],
)
def test_a_file_that_is_no_csv_names_no_field(data: bytes, detail: str) -> None:
    problem = refused(data)
    assert (problem.message, problem.errors) == (detail, [])


def test_a_file_without_an_identifier_column_is_refused_saying_so() -> None:
    problem = refused(b"Country,Action Plan Number,Commitment Title\nUtopia,1,Good\n")
    assert problem.errors == [
        ("header", "no the commitment identifier ('Commitment Unique Identifier') column")
    ]
    assert "no header row with the commitment identifier" in problem.message


def test_a_file_that_mixes_encodings_is_refused_with_the_line() -> None:
    latin1 = "U2,Bogotá,2019,1,Participación\r\n".encode("latin-1")
    problem = refused(HEADER + "U1,Utopía,2019,1,Bien\r\n".encode() + latin1)
    assert problem.errors == [("file", "not UTF-8 at line 3")]
    assert "not UTF-8 throughout" in problem.message


def test_a_file_is_read_in_chunks_as_its_bytes_are(monkeypatch: pytest.MonkeyPatch) -> None:
    """An import reads an upload from disk in chunks; a character split between two chunks, a
    BOM, quoted line ends and the line of the first bad byte come out as from the bytes whole."""
    monkeypatch.setattr(csv_table, "_CHUNK", 5)  # every multi-byte letter below is split somewhere
    body = '\ufeffU1,Utopía,2019,1,"Bien\r\nsûr"\r\nU2,Ελλάδα,2019,1,Καλά\r\n'.encode()
    whole = [(r.line, r.cells, r.errors) for r in read_sheet(HEADER + body)[1]]
    chunked = [(r.line, r.cells, r.errors) for r in read_sheet(io.BytesIO(HEADER + body))[1]]
    assert chunked == whole
    assert [cells[C_COUNTRY] for _, cells, _ in chunked] == ["Utopía", "Ελλάδα"]
    assert chunked[0][1][C_TITLE] == "Bien\r\nsûr"

    greek = "U3,Ελλάδα,2019,1,Καλά\r\n".encode()
    for bad in (greek[:-3] + b"\xce" + greek[-2:], greek[:8]):  # a letter cut in the middle, or at the end
        problem = refused_file(HEADER + "U1,Utopía,2019,1,Bien\r\n".encode() + bad)
        assert problem.errors == [("file", "not UTF-8 at line 3")]
    assert refused_file(b"\xef\xbb\xbf , \r\n").message == "the file is empty: a header row is expected"
    assert refused_file(b"PK\x03\x04" + bytes(100)).message.startswith("this is an XLSX or ZIP file")


def refused_file(data: bytes) -> Invalid:
    with pytest.raises(Invalid) as caught:
        read_sheet(io.BytesIO(data))
    return caught.value


def test_a_progress_file_with_bad_bytes_spoils_only_their_row(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_table, "_CHUNK", 3)
    data = "milestone_id,status\nm1,done\nm2,\xe9t\xe9\nm3,sûr\x07\n".encode("utf-8", "surrogateescape")
    data = data.replace("é".encode(), b"\xe9")  # a latin-1 letter among UTF-8 ones
    _, records = read_csv(io.BytesIO(data), PROGRESS_CSV)
    got = [(r.line, r.cells, [e["field"] for e in r.errors]) for r in records]
    assert got == [
        (2, {M_ID: "m1", M_STATUS: "done"}, []),
        (3, {M_ID: "m2"}, [M_STATUS]),
        (4, {M_ID: "m3", M_STATUS: "sûr\x07"}, [M_STATUS]),
    ]


def test_the_http_answer_of_a_bad_file_names_the_columns() -> None:
    header = problem_for(refused(f"{C_ID},{C_COUNTRY}\r\n".encode()))
    assert (header.status, header.title, header.extra) == (422, "Unprocessable Content", {})
    assert header.errors == [
        {"field": C_YEAR, "message": "required column missing"},
        {"field": C_PLAN, "message": "required column missing"},
        {"field": C_TITLE, "message": "required column missing"},
    ]
    empty = problem_for(refused(b""))
    assert (empty.status, empty.detail, empty.errors) == (
        422,
        "the file is empty: a header row is expected",
        [],
    )


def test_the_command_line_prints_what_http_would_answer() -> None:
    assert _unusable(refused(b"")) == {
        "status": 422,
        "detail": "the file is empty: a header row is expected",
        "errors": None,
    }
    missing = _unusable(refused(f"{C_ID},{C_COUNTRY},{C_YEAR},{C_PLAN}\r\n".encode()))
    assert missing["errors"] == [{"field": C_TITLE, "message": "required column missing"}]


async def test_the_command_line_names_a_file_it_cannot_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before any database is reached: exit status 2 and one line, not a traceback."""
    assert await run_cli([str(tmp_path / "missing.csv"), "--dsn", "postgresql://nobody@127.0.0.1:1/x"]) == 2
    assert capsys.readouterr().err == f"cannot read {tmp_path / 'missing.csv'}: No such file or directory\n"
    assert await run_cli([str(tmp_path), "--dsn", "postgresql://nobody@127.0.0.1:1/x"]) == 2
    assert "Is a directory" in capsys.readouterr().err


def test_progress_files_share_the_reader() -> None:
    columns, records = read_csv(b"Milestone_ID , STATUS\nabc,done\n", PROGRESS_CSV)
    assert columns == [M_ID, M_STATUS]
    [record] = list(records)
    with pytest.raises(RowFailure) as caught:
        parse_progress(record.line, record.cells)
    assert [e["field"] for e in caught.value.errors] == [M_ID, M_STATUS]


def test_a_progress_row_names_its_milestone_either_way() -> None:
    mid = uuid4()
    by_id = parse_progress(2, {M_ID: str(mid), M_STATUS: "In progress"})
    assert (by_id.label, by_id.milestone_id, by_id.status, by_id.progress) == (
        str(mid), mid, MilestoneStatus.IN_PROGRESS, None,
    )  # fmt: skip
    by_key = parse_progress(3, {M_KEY: "KE0001", "milestone_number": "2", M_STATUS: "completed"})
    assert (by_key.label, by_key.commitment_key, by_key.number) == ("KE0001#2", "KE0001", 2)


# --- a row's refusal ------------------------------------------------------------------------------


def test_a_rule_on_a_field_names_the_spreadsheet_column() -> None:
    rv = RuleViolation("commitment.technology_alone", "technology alone", "values.technology_innovation")
    assert errors_of(rv, FIELD_COLUMNS) == [
        {"field": C_TECHNOLOGY, "message": "technology alone", "rule": "commitment.technology_alone"}
    ]
    unmapped = RuleViolation("milestone.progress_range", "0 to 100", "progress")
    assert errors_of(unmapped, {}) == [
        {"field": "progress", "message": "0 to 100", "rule": "milestone.progress_range"}
    ]


def test_a_rule_on_the_state_of_things_is_the_rows() -> None:
    rv = RuleViolation("plan.progress_not_open", "not yet")
    assert errors_of(rv, FIELD_COLUMNS) == [
        {"field": "row", "message": "not yet", "rule": "plan.progress_not_open"}
    ]


def test_other_refusals_keep_their_message() -> None:
    assert errors_of(Invalid("title", "too long"), FIELD_COLUMNS) == [
        {"field": C_TITLE, "message": "too long"}
    ]
    assert errors_of(Invalid.many("nothing to name", []), {}) == [
        {"field": "row", "message": "nothing to name"}
    ]
    assert errors_of(NotFound("plan 1"), {}) == [{"field": "row", "message": "plan 1 does not exist"}]
    assert errors_of(Forbidden("not yours"), {}) == [{"field": "row", "message": "not yours"}]
    failure = RowFailure([err(C_YEAR, "too early")])
    assert errors_of(failure, {}) is failure.errors
    # The database's and pydantic's messages quote the row's values: never repeated in the report.
    db = asyncpg.exceptions.NotNullViolationError.new(
        {"S": "ERROR", "C": "23502", "M": "null value", "D": "Failing row contains (ana@example.org)."}
    )
    assert errors_of(db, {}) == [{"field": "row", "message": "refused by the database: null value"}]
    with pytest.raises(ValidationError) as invalid:
        CommitmentIn.model_validate({"title": "T", "budget_currency": "ana@example.org"})
    reported = errors_of(invalid.value, {"budget_currency": "Currency"})
    assert "ana@example.org" not in json.dumps(reported)
    assert [e["field"] for e in reported] == ["Currency"]
    db = asyncpg.PostgresError("value too long")
    assert errors_of(db, {}) == [{"field": "row", "message": "refused by the database: value too long"}]


def test_a_refusal_reads_as_the_http_api_tells_it() -> None:
    """The row error carries what the problem+json answer of the same refusal carries."""
    for refusal in (
        RuleViolation("commitment.original_missing", "the title must be given", "title"),
        RuleViolation("plan.commitments_frozen", "frozen"),
        Invalid("lead_agency", "too long"),
        NotFound("milestone 7"),
    ):
        problem = problem_for(refusal)
        [row_error] = errors_of(refusal, {})
        expected = problem.errors[0] if problem.errors else {"field": "row", "message": problem.detail}
        assert {k: row_error[k] for k in ("field", "message")} == expected
        assert row_error.get("rule") == problem.extra.get("rule")

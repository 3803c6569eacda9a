"""Reading a spreadsheet exported as CSV: the header matched to the columns a file may have
(case-insensitively, spaces collapsed), then the records, each with what is wrong with its bytes
or its shape; and the cell values both spreadsheets share (yes/no flags, whole numbers, links)."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import urlsplit

from services.plans.imports.report import FieldError, RowFailure, err
from shared.errors import Invalid


def _norm(name: str) -> str:
    return " ".join(name.split()).casefold()


@dataclass(frozen=True, slots=True)
class CsvSpec:
    """The columns a file may have; matched case-insensitively, spaces collapsed."""

    required: tuple[str, ...]
    optional: tuple[str, ...]

    @property
    def known(self) -> dict[str, str]:
        return {_norm(c): c for c in (*self.required, *self.optional)}


@dataclass(frozen=True, slots=True)
class CsvRecord:
    line: int  # the line the record starts on, the header being line 1
    cells: dict[str, str]  # canonical column name → stripped cell (possibly partial)
    errors: list[FieldError]


def _undecodable(text: str) -> bool:
    """Bytes that are not UTF-8 were decoded as lone surrogates (``surrogateescape``)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # UTF-8 keeps them single bytes
_BLANK_BYTES = b", \t\r\n\x0b\x0c"

#: A file to read: its bytes, or a binary file open for reading at any position (seekable), such
#: as an upload spooled to disk. A file is read twice, in chunks, and never held whole.
CsvSource = bytes | IO[bytes]
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class _Scan:
    """What one pass over the bytes found, so that cells are checked only when there is
    something to find."""

    start: bytes  # the first 64 KiB, to name a file that is not CSV at all
    bad_offset: int | None  # where the first byte that is not UTF-8 is, if any
    controls: bool
    blank: bool  # nothing but commas and white space


def _scan(stream: IO[bytes]) -> _Scan:
    """One pass in chunks of :data:`_CHUNK`: the decoder is incremental (a character split
    between two chunks is whole) and its text is dropped at once."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    start = b""
    offset = 0
    bad: int | None = None
    controls = False
    blank = True
    while True:
        chunk = stream.read(_CHUNK)
        if len(start) < 65536:
            start += chunk[: 65536 - len(start)]
        controls = controls or _CONTROL_BYTES.search(chunk) is not None
        content = chunk.removeprefix(codecs.BOM_UTF8) if offset == 0 else chunk
        blank = blank and not content.translate(None, _BLANK_BYTES)
        if bad is None:
            pending = len(decoder.getstate()[0])  # the end of the last chunk, not yet a character
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                bad = offset - pending + exc.start
        if not chunk:
            break
        offset += len(chunk)
    stream.seek(0)
    return _Scan(start, bad, controls, blank)


def _line_at(stream: IO[bytes], offset: int) -> int:
    """The line (from 1) the byte at ``offset`` is on, counted as the text's own lines are."""
    before = stream.read(offset)
    stream.seek(0)
    return len((before + b"x").decode("utf-8", errors="surrogateescape").splitlines())


def _opened(source: CsvSource) -> IO[bytes]:
    if isinstance(source, bytes | bytearray | memoryview):
        return io.BytesIO(source)  # shares the bytes until written to
    source.seek(0)
    return source


def _text(stream: IO[bytes]) -> io.TextIOWrapper:
    """The file as text, decoded as it is read: a BOM is dropped, bytes that are not UTF-8 come
    through as lone surrogates (so that only their row is spoiled), and line ends are left to
    the CSV reader (quoted cells may hold them)."""
    return io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")


def _records_after(reader: Any, header_line: int) -> Iterator[tuple[int, list[str]] | CsvRecord]:
    """Each non-blank record after the header with the line it starts on: its fields, or (when
    the CSV itself is broken there) the record that says so; reading goes on with the next."""
    last = header_line
    while True:
        start = last + 1
        try:
            raw = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            last = reader.line_num
            yield CsvRecord(start, {}, [err("row", f"not readable as CSV: {exc}")])
            continue
        last = reader.line_num
        if any(c.strip() for c in raw):
            yield start, raw


def _control_errors(cells: dict[str, str]) -> list[FieldError]:
    return [err(c, "control characters are not allowed") for c, v in cells.items() if _CONTROL.search(v)]


def read_csv(source: CsvSource, spec: CsvSpec) -> tuple[list[str], Iterator[CsvRecord]]:
    """Check the header (:class:`Invalid` naming each unknown, duplicated or missing column, which
    HTTP answers with 422; a file that is not CSV text at all names none) and return the
    present columns and the records. A record with the wrong number of fields or bytes that are
    not UTF-8 comes back with errors; reading goes on with the next one.

    The file is decoded as it is read, with ``surrogateescape``, so that one bad byte spoils only
    the row it is in, not the file."""
    stream = _opened(source)
    scan = _scan(stream)
    # Cells are checked one by one only when the whole file has something to find.
    check_bytes, check_controls = scan.bad_offset is not None, scan.controls
    reader = csv.reader(_text(stream))
    header: list[str] | None = None
    try:
        for raw in reader:
            if any(c.strip() for c in raw):
                header = raw
                break
    except csv.Error as exc:
        raise Invalid.many(f"the header is not readable as CSV: {exc}", []) from None
    if header is None:
        raise Invalid.many("the file is empty: a header row is expected", [])
    if any(_undecodable(c) or "\x00" in c for c in header):
        raise Invalid.many("the header is not UTF-8 text: is this file a CSV spreadsheet?", [])
    known = spec.known
    columns: list[str] = []
    errors: list[FieldError] = []
    for name in header:
        canonical = known.get(_norm(name))
        if canonical is None:
            errors.append(err(name.strip() or "(empty)", "unknown column"))
        elif canonical in columns:
            errors.append(err(canonical, "column given twice"))
        columns.append(canonical or name)
    errors += [err(c, "required column missing") for c in spec.required if c not in columns]
    if errors:
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise Invalid.many(f"invalid header: {detail}", [(e["field"], e["message"]) for e in errors])
    header_line = reader.line_num

    def records() -> Iterator[CsvRecord]:
        for record in _records_after(reader, header_line):
            if isinstance(record, CsvRecord):
                yield record
                continue
            start, raw = record
            cells = {col: value.strip() for col, value in zip(columns, raw, strict=False)}
            errs: list[FieldError] = []
            if len(raw) != len(columns):
                errs.append(err("row", f"{len(raw)} fields where the header has {len(columns)}"))
            if check_bytes:
                bad = [c for c, v in cells.items() if _undecodable(v)]
                errs += [err(c, "not UTF-8 text") for c in bad]
                cells = {c: v for c, v in cells.items() if c not in bad}
            if check_controls:
                errs += _control_errors(cells)
            yield CsvRecord(start, cells, errs)

    return columns, records()


_NOT_CSV = ((b"PK\x03\x04", "an XLSX or ZIP file"), (b"%PDF", "a PDF"), (b"\xd0\xcf\x11\xe0", "an XLS file"))
#: Rows a file may have before its header (an index row, a row of group headings).
HEADER_SEARCH_ROWS = 5


def read_table(
    source: CsvSource, is_header: Callable[[list[str]], bool], describe: str
) -> tuple[list[str], Iterator[CsvRecord]]:
    """Read a CSV file whose columns are matched later, by meaning: the header is the first of
    the first few rows that ``is_header`` accepts (OGP's older exports put an index row or a
    row of group headings above it), and each record's cells are keyed by the header's own
    (stripped) names; duplicated names are the caller's to judge.

    The whole file must be UTF-8: a file with other bytes in it (saved from a spreadsheet in
    another encoding, or put together from files in two) is refused with the first line at
    fault, because a guess would store garbled names. :class:`Invalid` (422) says why a file is
    refused: not CSV, not UTF-8, no header naming ``describe``.

    The file is read in two passes, each in chunks (the checks, then the records as they are
    asked for), so that what is held at once is one record, not the file decoded (a Python
    string of a text with any non-Latin letter takes 2 or 4 bytes a character)."""
    stream = _opened(source)
    scan = _scan(stream)
    for magic, what in _NOT_CSV:
        if scan.start.startswith(magic):
            raise Invalid.many(f"this is {what}, not a CSV file: export the sheet as CSV (UTF-8)", [])
    if b"\x00" in scan.start:
        raise Invalid.many("the file is binary, not CSV text: export the sheet as CSV (UTF-8)", [])
    if scan.bad_offset is not None:
        line = _line_at(stream, scan.bad_offset)
        raise Invalid.many(
            f"the file is not UTF-8 throughout (first at line {line}): it mixes encodings or was "
            "saved in another one; export it again as CSV UTF-8",
            [("file", f"not UTF-8 at line {line}")],
        )
    check_controls = scan.controls
    reader = csv.reader(_text(stream))
    header: list[str] | None = None
    try:
        for _ in range(HEADER_SEARCH_ROWS):
            raw = next(reader, None)
            if raw is None:
                break
            if is_header([c.strip() for c in raw]):
                header = [c.strip() for c in raw]
                break
    except csv.Error as exc:
        raise Invalid.many(f"the file is not readable as CSV: {exc}", []) from None
    if header is None:
        if scan.blank:
            raise Invalid.many("the file is empty: a header row is expected", [])
        raise Invalid.many(
            f"no header row with {describe} in the first {HEADER_SEARCH_ROWS} rows: is this the "
            "right file, exported as CSV?",
            [("header", f"no {describe} column")],
        )
    header_line = reader.line_num
    width = len(header)

    def records() -> Iterator[CsvRecord]:
        for record in _records_after(reader, header_line):
            if isinstance(record, CsvRecord):
                yield record
                continue
            start, raw = record
            cells: dict[str, str] = {}
            for name, value in zip(header, raw, strict=False):
                if name and name not in cells:
                    cells[name] = value.strip()
            errs: list[FieldError] = []
            if len(raw) < width or any(c.strip() for c in raw[width:]):
                errs.append(err("row", f"{len(raw)} fields where the header has {width}"))
            if check_controls:
                errs += _control_errors(cells)
            yield CsvRecord(start, cells, errs)

    return header, records()


# --- cells -----------------------------------------------------------------------------------------

_TRUE = frozenset({"yes", "y", "x", "1", "true", "✓"})
_FALSE = frozenset({"no", "n", "0", "false", "", "-"})


def label(value: str) -> str:
    return " ".join(value.replace("_", " ").split()).casefold()


def slug(label: str) -> str:
    return label.replace(" ", "_")


def flag(column: str, value: str) -> bool:
    v = value.strip().casefold()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise RowFailure([err(column, f"{value!r} is not a yes/no value (Yes, No, X, 1, 0 or empty)")])


def whole_number(column: str, value: str, low: int, high: int) -> int:
    try:
        number = int(value.strip().removesuffix(".0"))
    except ValueError:
        raise RowFailure([err(column, f"{value!r} is not a whole number")]) from None
    if not low <= number <= high:
        raise RowFailure([err(column, f"{number} is not between {low} and {high}")])
    return number


def http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and len(value) <= 2000

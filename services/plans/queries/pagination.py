"""Keyset pagination: cursors, the WHERE clause of a list and its pages.

The cursor is the sort key of the last item of the page, so the next page is
``WHERE (key) > (cursor)``: no duplicates or gaps while rows are added, and the cost of a page
does not grow with its depth (unlike ``OFFSET``). Cursors are opaque to clients (base64url of a
small JSON array tagged with the ordering they belong to).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from shared.errors import Invalid

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class InvalidCursor(Invalid):
    """The cursor was not made by this service for this ordering (or was altered): a 422 that
    names ``query.cursor``, whichever list was asked for."""

    def __init__(self, message: str = "malformed cursor") -> None:
        super().__init__("query.cursor", message)


def encode_cursor(kind: str, *key: Any) -> str:
    """``kind`` names the ordering, so a cursor of one ordering is refused by another."""
    raw = json.dumps([kind, *key], separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, kind: str, arity: int = 2) -> list[Any]:
    """The key values of ``cursor`` (still as JSON values) or :class:`InvalidCursor`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor("not a cursor of this API") from exc
    if not isinstance(value, list) or len(value) != arity + 1 or value[0] != kind:
        raise InvalidCursor("not a cursor of this listing (was the search or ordering changed?)")
    return value[1:]


def cursor_uuid(value: Any) -> UUID:
    if not isinstance(value, str):
        raise InvalidCursor
    try:
        return UUID(value)
    except ValueError as exc:
        raise InvalidCursor from exc


def cursor_timestamp(value: Any) -> datetime:
    if not isinstance(value, str):
        raise InvalidCursor
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidCursor from exc
    if parsed.tzinfo is None:
        raise InvalidCursor
    return parsed


class Where:
    """Conditions ANDed together; ``add`` numbers the placeholders (``{}`` in the template).

    Every condition is a template written in this package, with a positional parameter for each
    value the client sent: no client text is ever spliced into SQL.
    """

    def __init__(self) -> None:
        self.conditions: list[str] = []
        self.args: list[Any] = []

    def add(self, template: str, *values: Any) -> None:
        first = len(self.args) + 1
        self.args.extend(values)
        self.conditions.append(template.format(*(f"${first + i}" for i in range(len(values)))))

    def param(self, value: Any) -> str:
        """A placeholder for a value used outside the WHERE clause (e.g. LIMIT)."""
        self.args.append(value)
        return f"${len(self.args)}"

    @property
    def sql(self) -> str:
        return " AND ".join(self.conditions) if self.conditions else "TRUE"


@dataclass(frozen=True, slots=True)
class Page:
    """Items as JSON texts (from Postgres) and the cursor of the next page, if there is one."""

    items: list[str]
    next_cursor: str | None

    def to_json(self) -> bytes:
        cursor = json.dumps(self.next_cursor)
        return f'{{"items":[{",".join(self.items)}],"next_cursor":{cursor}}}'.encode()


def page_of(rows: list[Any], limit: int, kind: str, key: tuple[str, ...]) -> Page:
    """``rows`` holds up to limit + 1 rows, each with its JSON in ``item`` and the columns of
    ``key``: the extra row only says that a next page exists."""
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = None
    if more and rows:
        last = rows[-1]
        cursor = encode_cursor(kind, *(_cursor_value(last[k]) for k in key))
    return Page([r["item"] for r in rows], cursor)


def _cursor_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value

"""Public reads of the plans service: shaped for the API, the open-data export and the
benchmark. Only public data leaves here (never contact details).

Two ways to the same shapes:

* :func:`public_commitment`, :func:`public_milestone` and :func:`plan_with_commitments` build
  Python dicts, for code that wants to work on the values (the export);
* the ``*_json`` functions, the lists and :func:`plan_page` let PostgreSQL build the answer's
  JSON text (``row_to_json`` / ``json_agg``), which the API returns as it is. A plan page of
  100 commitments and 500 milestones is 600 nested objects: turning them into Python objects
  and encoding those again (asyncpg records → dicts → FastAPI's encoder → JSON) cost the
  service about 23 ms of CPU per request (``bench/plans_read.py``). Postgres writes the same
  text with less work and Python then only copies bytes; and the plan page is built once per
  version: it is kept in memory for as long as Postgres says it has not changed
  (:class:`PageCache`).

Lists are paginated by **keyset cursors**: the cursor is the sort key of the last item of the
page, so the next page is ``WHERE (key) > (cursor)``: no duplicates or gaps while rows are added,
and the cost of a page does not grow with its depth (unlike ``OFFSET``). Cursors are opaque to
clients (base64url of a small JSON array tagged with the ordering they belong to).

Every WHERE clause is assembled from a fixed set of conditions written here, with positional
parameters for every value the client sent; no client text is ever spliced into SQL.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import gzip
import json
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from services.plans import store
from shared.events.plans import CommitmentState, MemberKind, MemberStatus, PlanState, Strand
from shared.http import Unprocessable

Row = dict[str, Any]

_MILESTONES_OF_PLAN = f"""
SELECT {store.MILESTONE_COLUMNS} FROM milestones m WHERE m.plan_id = $1 ORDER BY m.commitment_id, m.number
"""  # noqa: S608

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def public_commitment(c: Row, milestones: list[Row] | None = None) -> Row:
    texts = dict(c["texts"])
    out: Row = {
        "id": c["id"],
        "plan_id": c["plan_id"],
        "member_id": c["member_id"],
        "number": c["number"],
        "state": c["state"],
        "original_language": c["original_language"],
        "title": texts.pop("title", {c["original_language"]: c["title"]}),
        "texts": texts,
        "start_date": c["start_date"],
        "end_date": c["end_date"],
        "lead_agency": c["lead_agency"],
        "responsible_person": c["responsible_person"],
        "supporting_government": c["supporting_government"],
        "supporting_other": c["supporting_other"],
        "values": {
            "access_to_information": c["value_access_to_information"],
            "civic_participation": c["value_civic_participation"],
            "public_accountability": c["value_public_accountability"],
            "technology_innovation": c["value_technology_innovation"],
        },
        "policy_areas": c["policy_areas"],
        "budget_amount": float(c["budget_amount"]) if c["budget_amount"] is not None else None,
        "budget_currency": c["budget_currency"],
        "sdg_targets": c["sdg_targets"],
        "other_plan_links": c["other_plan_links"],
        "progress": float(c["progress"]),
        "self_assessment": c["self_assessment"],
        "irm": c["irm"],
        "version": c["version"],
        "created_at": c["created_at"],
        "updated_at": c["updated_at"],
    }
    if milestones is not None:
        out["milestones"] = [public_milestone(m) for m in milestones]
    return out


def public_milestone(m: Row) -> Row:
    return {
        "id": m["id"],
        "number": m["number"],
        "title": m["texts"].get("title", {}),
        "deliverable": m["texts"].get("deliverable"),
        "start_date": m["start_date"],
        "end_date": m["end_date"],
        "responsible": m["responsible"],
        "status": m["status"],
        "weight": float(m["weight"]),
        "progress": m["progress"],
        "completed_at": m["completed_at"],
    }


async def plan_with_commitments(conn: Any, plan_id: UUID) -> Row | None:
    """A plan, its commitments and their milestones in three queries whatever their number."""
    plan = await store.get_plan(conn, plan_id)
    if plan is None:
        return None
    commitments = await store.commitments_of_plan(conn, plan_id)
    by_commitment: dict[UUID, list[Row]] = {}
    for m in await conn.fetch(_MILESTONES_OF_PLAN, plan_id):
        by_commitment.setdefault(m["commitment_id"], []).append(dict(m))
    plan["commitments"] = [public_commitment(c, by_commitment.get(c["id"], [])) for c in commitments]
    return plan


# --- JSON built by PostgreSQL ------------------------------------------------------------------
# The same shapes as the dicts above, in the same key order. Each object is a row of a LATERAL
# sub-select whose column names are the keys, turned into JSON by ``json_agg`` / ``row_to_json``:
# compact output and faster than ``json_build_object``, which looks up how to print each argument
# on every call. Timestamps are rendered in UTC the way pydantic renders them
# ("2025-01-31T09:30:00.123456Z") whatever the session's TimeZone; numerics become JSON numbers.


def _ts(column: str) -> str:
    """pydantic leaves the fraction out when it is zero; so does this."""
    utc = f"{column} AT TIME ZONE 'UTC'"
    return f"""CASE WHEN date_trunc('second', {column}) = {column}
        THEN to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
        ELSE to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END"""


#: A public milestone of alias ``m``.
_MILESTONE = f"""SELECT m.id, m.number, coalesce(m.texts -> 'title', '{{}}'::jsonb) AS title,
    m.texts -> 'deliverable' AS deliverable, m.start_date, m.end_date, m.responsible, m.status,
    m.weight::float8 AS weight, m.progress, {_ts("m.completed_at")} AS completed_at"""


def _commitment(milestones: str | None = None) -> str:
    """A public commitment of alias ``c``; ``milestones``: a JSON expression for its milestones."""
    extra = f", {milestones} AS milestones" if milestones else ""
    return f"""SELECT c.id, c.plan_id, c.member_id, c.number, c.state, c.original_language,
    coalesce(c.texts -> 'title', jsonb_build_object(c.original_language, c.title)) AS title,
    c.texts - 'title' AS texts, c.start_date, c.end_date, c.lead_agency, c.responsible_person,
    c.supporting_government, c.supporting_other,
    json_build_object(
        'access_to_information', c.value_access_to_information,
        'civic_participation', c.value_civic_participation,
        'public_accountability', c.value_public_accountability,
        'technology_innovation', c.value_technology_innovation) AS "values",
    c.policy_areas, c.budget_amount::float8 AS budget_amount, c.budget_currency, c.sdg_targets,
    c.other_plan_links, c.progress::float8 AS progress, c.self_assessment, c.irm, c.version,
    {_ts("c.created_at")} AS created_at, {_ts("c.updated_at")} AS updated_at{extra}"""


def _plan(commitment_count: str, progress: str, commitments: str | None = None) -> str:
    """A public plan of alias ``p``: no point of contact (not even the contact's opaque id)."""
    extra = f", {commitments} AS commitments" if commitments else ""
    return f"""SELECT p.id, p.member_id, p.title, p.start_date, p.end_date, p.state,
    {_ts("p.created_at")} AS created_at, {_ts("p.submitted_at")} AS submitted_at,
    {_ts("p.updated_at")} AS updated_at, p.length_years, p.strands, p.action_plan_number,
    {_ts("p.implementation_started_at")} AS implementation_started_at,
    {_ts("p.refreshed_at")} AS refreshed_at, {_ts("p.ended_at")} AS ended_at,
    {_ts("p.closed_at")} AS closed_at, {commitment_count} AS commitment_count,
    {progress} AS progress{extra}"""


_MEMBER = f"""SELECT m.id, m.name, m.kind, m.country_code, m.region, m.status, m.status_reason,
    {_ts("m.status_changed_at")} AS status_changed_at, {_ts("m.created_at")} AS created_at"""

#: Counted as the plan's own summary is (withdrawn commitments do not count).
_PLAN_COUNT = "(SELECT count(*) FROM commitments c WHERE c.plan_id = p.id AND c.state <> 'withdrawn')"
_PLAN_PROGRESS = """(SELECT coalesce(round(avg(c.progress), 1), 0)::float8 FROM commitments c
      WHERE c.plan_id = p.id AND c.state <> 'withdrawn')"""

#: The milestones of the plan ``$1``, one JSON array per commitment.
_MILESTONES_BY_COMMITMENT = f"""
    SELECT m.commitment_id, json_agg(j ORDER BY m.number) AS items
    FROM milestones m CROSS JOIN LATERAL ({_MILESTONE}) j
    WHERE m.plan_id = $1 GROUP BY m.commitment_id"""  # noqa: S608

# One statement, one round trip: milestones grouped per commitment, commitments aggregated in
# number order with the plan's summary computed over the same rows.
_PLAN_FULL = f"""
WITH ms AS ({_MILESTONES_BY_COMMITMENT}
), cs AS (
    SELECT json_agg(j ORDER BY c.number) AS items,
           count(*) FILTER (WHERE c.state <> 'withdrawn') AS n,
           coalesce(round(avg(c.progress) FILTER (WHERE c.state <> 'withdrawn'), 1), 0)::float8 AS progress
    FROM commitments c LEFT JOIN ms ON ms.commitment_id = c.id
    CROSS JOIN LATERAL ({_commitment("coalesce(ms.items, '[]'::json)")}) j
    WHERE c.plan_id = $1
)
SELECT row_to_json(j)::text
FROM plans p CROSS JOIN cs
CROSS JOIN LATERAL ({_plan("cs.n", "cs.progress", "coalesce(cs.items, '[]'::json)")}) j
WHERE p.id = $1
"""  # noqa: S608

_PLAN_COMMITMENTS = f"""
WITH ms AS ({_MILESTONES_BY_COMMITMENT}
)
SELECT coalesce((
    SELECT json_agg(j ORDER BY c.number)
    FROM commitments c LEFT JOIN ms ON ms.commitment_id = c.id
    CROSS JOIN LATERAL ({_commitment("coalesce(ms.items, '[]'::json)")}) j
    WHERE c.plan_id = p.id), '[]'::json)::text
FROM plans p WHERE p.id = $1
"""  # noqa: S608

_MILESTONES_OF_COMMITMENT = f"""coalesce((SELECT json_agg(j ORDER BY m.number)
    FROM milestones m CROSS JOIN LATERAL ({_MILESTONE}) j WHERE m.commitment_id = c.id), '[]'::json)"""  # noqa: S608

_COMMITMENT = f"""
SELECT row_to_json(j)::text FROM commitments c CROSS JOIN LATERAL ({_commitment(_MILESTONES_OF_COMMITMENT)}) j
WHERE c.id = $1
"""  # noqa: S608

#: Changes whenever a row the plan page is made of changes: every INSERT or UPDATE gives the row
#: version a new ``xmin`` (the writing transaction's id; it never comes back to an old value
#: short of 2^32 transactions), a DELETE drops the row from the count and the sum. Each row
#: counts as a 64-bit hash of (id, xmin), summed: a change leaves the sum as it was with a
#: probability of about 2^-64. Reading it costs index scans over the plan's rows and no JSON. (A
#: no-op UPDATE changes it too: a needless rebuild, never a stale page.) Whatever table the page
#: reads must be part of it: a page that showed, say, the member's name would need the member row.
_PLAN_FINGERPRINT = """md5(p.xmin::text
    || '|' || (SELECT count(*) || '.' || coalesce(sum(hashtextextended(c.id::text || c.xmin::text, 0)), 0)
               FROM commitments c WHERE c.plan_id = p.id)
    || '|' || (SELECT count(*) || '.' || coalesce(sum(hashtextextended(m.id::text || m.xmin::text, 0)), 0)
               FROM milestones m WHERE m.plan_id = p.id))"""

#: The fingerprint, and the page only when it differs from ``$2`` (the one already known). The
#: page is an uncorrelated sub-select, which Postgres runs only when the CASE needs it; both come
#: from the statement's one snapshot, so a page is never stored under another version's
#: fingerprint. (OFFSET 0 keeps the fingerprint computed once rather than once per reference.)
_PLAN_FULL_IF_CHANGED = f"""
SELECT v.fingerprint, CASE WHEN v.fingerprint = $2 THEN NULL ELSE ({_PLAN_FULL}) END AS body
FROM (SELECT {_PLAN_FINGERPRINT} AS fingerprint FROM plans p WHERE p.id = $1 OFFSET 0) v
"""  # noqa: S608


async def plan_full_json(conn: Any, plan_id: UUID) -> str | None:
    """The public plan page (plan, commitments, milestones) as JSON text, or None."""
    text: str | None = await conn.fetchval(_PLAN_FULL, plan_id)
    return text


@dataclass(frozen=True, slots=True)
class PlanPage:
    """One version of a plan page: its fingerprint (the HTTP ETag), its JSON and that JSON
    gzipped (a 300 KB page is about 20 KB gzipped: what browsers and CDNs ask for)."""

    fingerprint: str
    json: bytes
    gzip: bytes

    @property
    def size(self) -> int:
        return len(self.json) + len(self.gzip)


class PageCache:
    """The plan pages last built, least recently used first out, bounded by their total size.

    A page is served from here only after Postgres confirmed that its fingerprint is still the
    current one (see :func:`plan_page`), so the cache can never serve a stale page, whichever
    process or replica wrote the change. It saves rebuilding the JSON, which is most of the cost
    of a page, not the round trip.
    """

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._pages: OrderedDict[UUID, PlanPage] = OrderedDict()
        self._bytes = 0

    def get(self, key: UUID) -> PlanPage | None:
        page = self._pages.get(key)
        if page is not None:
            self._pages.move_to_end(key)
        return page

    def put(self, key: UUID, page: PlanPage) -> None:
        self.discard(key)
        if page.size > self.max_bytes:
            return
        self._pages[key] = page
        self._bytes += page.size
        while self._bytes > self.max_bytes:
            _, old = self._pages.popitem(last=False)
            self._bytes -= old.size

    def discard(self, key: UUID) -> None:
        page = self._pages.pop(key, None)
        if page is not None:
            self._bytes -= page.size


async def plan_page(
    conn: Any, plan_id: UUID, cache: PageCache, client_fingerprint: str | None = None
) -> tuple[str, PlanPage | None] | None:
    """The current fingerprint of the public plan page and the page itself, None for the page
    when the client already holds that version (``If-None-Match``); None when there is no plan.

    One round trip always (the fingerprint); the JSON is built, and gzipped in a worker thread,
    only when neither the cache nor the client holds the current version.
    """
    cached = cache.get(plan_id)
    known = cached.fingerprint if cached is not None else client_fingerprint
    row = await conn.fetchrow(_PLAN_FULL_IF_CHANGED, plan_id, known)
    if row is None:
        cache.discard(plan_id)
        return None
    fingerprint: str = row["fingerprint"]
    page: PlanPage | None = None
    if row["body"] is not None:
        body = row["body"].encode()
        page = PlanPage(fingerprint, body, await asyncio.to_thread(gzip.compress, body, 6, mtime=0))
        cache.put(plan_id, page)
    elif cached is not None and cached.fingerprint == fingerprint:
        page = cached
    if fingerprint == client_fingerprint:
        return fingerprint, None
    assert page is not None  # no body comes back only for the version the cache or client holds
    return fingerprint, page


async def plan_commitments_json(conn: Any, plan_id: UUID) -> str | None:
    """The plan's commitments with their milestones as a JSON array, or None without the plan."""
    text: str | None = await conn.fetchval(_PLAN_COMMITMENTS, plan_id)
    return text


async def commitment_json(conn: Any, commitment_id: UUID) -> str | None:
    text: str | None = await conn.fetchval(_COMMITMENT, commitment_id)
    return text


# --- cursors -----------------------------------------------------------------------------------


class InvalidCursor(Unprocessable):
    """The cursor was not made by this service for this ordering (or was altered): a 422 that
    names ``query.cursor``, whichever list was asked for."""

    def __init__(self, message: str) -> None:
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


def _uuid(value: Any) -> UUID:
    if not isinstance(value, str):
        raise InvalidCursor("malformed cursor")
    try:
        return UUID(value)
    except ValueError as exc:
        raise InvalidCursor("malformed cursor") from exc


def _timestamp(value: Any) -> datetime:
    if not isinstance(value, str):
        raise InvalidCursor("malformed cursor")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidCursor("malformed cursor") from exc
    if parsed.tzinfo is None:
        raise InvalidCursor("malformed cursor")
    return parsed


# --- lists -------------------------------------------------------------------------------------


class OgpValue(StrEnum):
    """The OGP values a commitment may be relevant to (each a boolean column)."""

    ACCESS_TO_INFORMATION = "access_to_information"
    CIVIC_PARTICIPATION = "civic_participation"
    PUBLIC_ACCOUNTABILITY = "public_accountability"
    TECHNOLOGY_INNOVATION = "technology_innovation"


#: Column of each value: chosen from this fixed map, never from the client's text.
_VALUE_COLUMN = {v: f"c.value_{v.value}" for v in OgpValue}


class _Where:
    """Conditions ANDed together; ``add`` numbers the placeholders (``{}`` in the template)."""

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


def _page(rows: list[Any], limit: int, kind: str, key: tuple[str, ...]) -> Page:
    """``rows`` holds up to limit + 1 rows: the extra one only says that a next page exists."""
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


async def list_members(
    conn: Any,
    *,
    kind: MemberKind | None = None,
    region: str | None = None,
    status: MemberStatus | None = None,
    name_prefix: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page:
    """Members in name order (then id, for a total order)."""
    w = _Where()
    if kind is not None:
        w.add("m.kind = {}", kind.value)
    if region is not None:
        w.add("m.region = {}", region)
    if status is not None:
        w.add("m.status = {}", status.value)
    if name_prefix:
        w.add("starts_with(lower(m.name), lower({}))", name_prefix)
    if cursor is not None:
        name, member_id = decode_cursor(cursor, "members")
        if not isinstance(name, str) or "\x00" in name:
            raise InvalidCursor("malformed cursor")
        w.add("(m.name, m.id) > ({}, {})", name, _uuid(member_id))
    rows = await conn.fetch(
        f"""SELECT m.name, m.id, row_to_json(j)::text AS item
            FROM members m CROSS JOIN LATERAL ({_MEMBER}) j
            WHERE {w.sql} ORDER BY m.name, m.id LIMIT {w.param(limit + 1)}""",  # noqa: S608
        *w.args,
    )
    return _page(rows, limit, "members", ("name", "id"))


async def list_plans(
    conn: Any,
    *,
    member_id: UUID | None = None,
    kind: MemberKind | None = None,
    region: str | None = None,
    strand: Strand | None = None,
    state: PlanState | None = None,
    year: int | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page:
    """Plans in creation order. ``year``: plans running at some time of that year."""
    w = _Where()
    if member_id is not None:
        w.add("p.member_id = {}", member_id)
    if kind is not None:
        w.add("m.kind = {}", kind.value)
    if region is not None:
        w.add("m.region = {}", region)
    if strand is not None:
        w.add("{} = ANY(p.strands)", strand.value)
    if state is not None:
        w.add("p.state = {}", state.value)
    if year is not None:
        w.add("p.start_date < make_date({} + 1, 1, 1) AND p.end_date >= make_date({}, 1, 1)", year, year)
    if cursor is not None:
        created_at, plan_id = decode_cursor(cursor, "plans")
        w.add("(p.created_at, p.id) > ({}, {})", _timestamp(created_at), _uuid(plan_id))
    rows = await conn.fetch(
        f"""SELECT page.created_at, page.id, row_to_json(j)::text AS item
            FROM (SELECT p.id, p.created_at FROM plans p JOIN members m ON m.id = p.member_id
                  WHERE {w.sql} ORDER BY p.created_at, p.id LIMIT {w.param(limit + 1)}) page
            JOIN plans p ON p.id = page.id CROSS JOIN LATERAL ({_plan(_PLAN_COUNT, _PLAN_PROGRESS)}) j
            ORDER BY page.created_at, page.id""",  # noqa: S608
        *w.args,
    )
    return _page(rows, limit, "plans", ("created_at", "id"))


#: Ranks are ``real`` (float4): a larger number cannot even be sent as a parameter.
_MAX_REAL = 3.4e38

#: The query text in all four languages of the search column, each with its own stemmer, so
#: "budgets" finds "budget", "transparence" finds "transparence budgétaire", and so on.
_TSQUERY = """(websearch_to_tsquery('english', {q}) || websearch_to_tsquery('french', {q})
    || websearch_to_tsquery('spanish', {q}) || websearch_to_tsquery('arabic', {q}))"""


async def list_commitments(
    conn: Any,
    *,
    member_id: UUID | None = None,
    plan_id: UUID | None = None,
    kind: MemberKind | None = None,
    region: str | None = None,
    strand: Strand | None = None,
    state: CommitmentState | None = None,
    value: OgpValue | None = None,
    policy_area: str | None = None,
    year: int | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page:
    """Commitments (without milestones) in creation order, or by relevance when ``q`` is given.

    ``year`` selects the commitments of plans running at some time of that year. The page's
    rows are chosen on ids and sort keys first; JSON is built for those rows only.
    """
    w = _Where()
    if member_id is not None:
        w.add("c.member_id = {}", member_id)
    if plan_id is not None:
        w.add("c.plan_id = {}", plan_id)
    if kind is not None:
        w.add("m.kind = {}", kind.value)
    if region is not None:
        w.add("m.region = {}", region)
    if strand is not None:
        w.add("{} = ANY(p.strands)", strand.value)
    if state is not None:
        w.add("c.state = {}", state.value)
    if value is not None:
        w.conditions.append(_VALUE_COLUMN[value])
    if policy_area is not None:
        w.add("c.policy_areas @> ARRAY[{}]::text[]", policy_area.lower())
    if year is not None:
        w.add("p.start_date < make_date({} + 1, 1, 1) AND p.end_date >= make_date({}, 1, 1)", year, year)
    joins = "JOIN plans p ON p.id = c.plan_id JOIN members m ON m.id = c.member_id"
    if q:
        query = w.param(q)
        tsquery = _TSQUERY.format(q=query)
        w.conditions.append(f"c.search @@ {tsquery}")
        page_filter = "TRUE"
        if cursor is not None:
            rank, commitment_id = decode_cursor(cursor, "search")
            if not isinstance(rank, int | float) or isinstance(rank, bool) or not 0 <= rank <= _MAX_REAL:
                raise InvalidCursor("malformed cursor")
            r, i = w.param(float(rank)), w.param(_uuid(commitment_id))
            page_filter = f"(hit.rank < {r}::real OR (hit.rank = {r}::real AND hit.id > {i}))"
        sql = f"""
            SELECT page.rank, page.id, row_to_json(j)::text AS item
            FROM (SELECT hit.id, hit.rank
                  FROM (SELECT c.id, ts_rank(c.search, {tsquery}) AS rank FROM commitments c {joins}
                        WHERE {w.sql}) hit
                  WHERE {page_filter}
                  ORDER BY hit.rank DESC, hit.id LIMIT {w.param(limit + 1)}) page
            JOIN commitments c ON c.id = page.id CROSS JOIN LATERAL ({_commitment()}) j
            ORDER BY page.rank DESC, page.id"""  # noqa: S608
        rows = await conn.fetch(sql, *w.args)
        return _page(rows, limit, "search", ("rank", "id"))
    if cursor is not None:
        created_at, commitment_id = decode_cursor(cursor, "commitments")
        w.add("(c.created_at, c.id) > ({}, {})", _timestamp(created_at), _uuid(commitment_id))
    sql = f"""
        SELECT page.created_at, page.id, row_to_json(j)::text AS item
        FROM (SELECT c.id, c.created_at FROM commitments c {joins}
              WHERE {w.sql} ORDER BY c.created_at, c.id LIMIT {w.param(limit + 1)}) page
        JOIN commitments c ON c.id = page.id CROSS JOIN LATERAL ({_commitment()}) j
        ORDER BY page.created_at, page.id"""  # noqa: S608
    rows = await conn.fetch(sql, *w.args)
    return _page(rows, limit, "commitments", ("created_at", "id"))

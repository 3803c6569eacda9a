"""The public JSON shapes of the plans service, each written once: as the SQL that makes PostgreSQL
build it.

Each shape is an ordered list of (key, SQL expression) pairs. Its SELECT is the row of a LATERAL
sub-select whose column names are the keys, turned into JSON by ``json_agg`` / ``row_to_json``:
compact output and faster than ``json_build_object``, which looks up how to print each argument
on every call. The API returns that text as it is (its pydantic models only document it, and
check at import that they name the same keys in the same order: see ``*_KEYS``).

Timestamps are rendered in UTC the way pydantic renders them ("2025-01-31T09:30:00.123456Z")
whatever the session's TimeZone; numerics become JSON numbers. Only public data is in these
shapes: never a point of contact (not even the contact's opaque id).
"""

from __future__ import annotations

Fields = tuple[tuple[str, str], ...]


def ts(column: str) -> str:
    """A timestamp as pydantic writes it: in UTC, without the fraction when it is zero."""
    utc = f"{column} AT TIME ZONE 'UTC'"
    return f"""CASE WHEN date_trunc('second', {column}) = {column}
        THEN to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
        ELSE to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END"""


def _select(fields: Fields) -> str:
    return "SELECT " + ",\n    ".join(f'{expr} AS "{key}"' for key, expr in fields)


def _keys(fields: Fields) -> tuple[str, ...]:
    return tuple(key for key, _ in fields)


#: A public milestone of alias ``m``.
_MILESTONE_FIELDS: Fields = (
    ("id", "m.id"),
    ("number", "m.number"),
    ("title", "coalesce(m.texts -> 'title', '{}'::jsonb)"),
    ("deliverable", "m.texts -> 'deliverable'"),
    ("start_date", "m.start_date"),
    ("end_date", "m.end_date"),
    ("responsible", "m.responsible"),
    ("status", "m.status"),
    ("weight", "m.weight::float8"),
    ("progress", "m.progress"),
    ("completed_at", ts("m.completed_at")),
)

#: A public commitment of alias ``c`` (its milestones, when wanted, come last).
_COMMITMENT_FIELDS: Fields = (
    ("id", "c.id"),
    ("plan_id", "c.plan_id"),
    ("member_id", "c.member_id"),
    ("number", "c.number"),
    ("state", "c.state"),
    ("original_language", "c.original_language"),
    ("title", "coalesce(c.texts -> 'title', jsonb_build_object(c.original_language, c.title))"),
    ("texts", "c.texts - 'title'"),
    ("start_date", "c.start_date"),
    ("end_date", "c.end_date"),
    ("lead_agency", "c.lead_agency"),
    ("responsible_person", "c.responsible_person"),
    ("supporting_government", "c.supporting_government"),
    ("supporting_other", "c.supporting_other"),
    (
        "values",
        """json_build_object(
        'access_to_information', c.value_access_to_information,
        'civic_participation', c.value_civic_participation,
        'public_accountability', c.value_public_accountability,
        'technology_innovation', c.value_technology_innovation)""",
    ),
    ("policy_areas", "c.policy_areas"),
    ("budget_amount", "c.budget_amount::float8"),
    ("budget_currency", "c.budget_currency"),
    ("sdg_targets", "c.sdg_targets"),
    ("other_plan_links", "c.other_plan_links"),
    ("progress", "c.progress::float8"),
    ("self_assessment", "c.self_assessment"),
    ("irm", "c.irm"),
    # OGP's database's cells of the columns the import does not map ({} for other commitments).
    ("source_data", "c.source_data"),
    ("version", "c.version"),
    ("created_at", ts("c.created_at")),
    ("updated_at", ts("c.updated_at")),
)

#: A public plan of alias ``p``, before its summary (commitment count and progress).
_PLAN_FIELDS: Fields = (
    ("id", "p.id"),
    ("member_id", "p.member_id"),
    ("title", "p.title"),
    ("start_date", "p.start_date"),
    ("end_date", "p.end_date"),
    ("state", "p.state"),
    ("created_at", ts("p.created_at")),
    ("submitted_at", ts("p.submitted_at")),
    ("updated_at", ts("p.updated_at")),
    ("length_years", "p.length_years"),
    ("strands", "p.strands"),
    ("action_plan_number", "p.action_plan_number"),
    ("implementation_started_at", ts("p.implementation_started_at")),
    ("refreshed_at", ts("p.refreshed_at")),
    ("ended_at", ts("p.ended_at")),
    ("closed_at", ts("p.closed_at")),
)

#: A public member of alias ``m``.
_MEMBER_FIELDS: Fields = (
    ("id", "m.id"),
    ("name", "m.name"),
    ("kind", "m.kind"),
    ("country_code", "m.country_code"),
    ("region", "m.region"),
    ("status", "m.status"),
    ("status_reason", "m.status_reason"),
    ("status_changed_at", ts("m.status_changed_at")),
    ("created_at", ts("m.created_at")),
)

MILESTONE_KEYS = _keys(_MILESTONE_FIELDS)
COMMITMENT_KEYS = _keys(_COMMITMENT_FIELDS)
PLAN_KEYS = (*_keys(_PLAN_FIELDS), "commitment_count", "progress")
MEMBER_KEYS = _keys(_MEMBER_FIELDS)

MILESTONE = _select(_MILESTONE_FIELDS)
MEMBER = _select(_MEMBER_FIELDS)


def commitment(milestones: str | None = None) -> str:
    """A public commitment of alias ``c``; ``milestones``: a JSON expression for its milestones."""
    extra: Fields = (("milestones", milestones),) if milestones else ()
    return _select(_COMMITMENT_FIELDS + extra)


def plan(commitment_count: str, progress: str, commitments: str | None = None) -> str:
    """A public plan of alias ``p`` with its summary; ``commitments``: a JSON expression."""
    extra: Fields = (("commitments", commitments),) if commitments else ()
    return _select((*_PLAN_FIELDS, ("commitment_count", commitment_count), ("progress", progress), *extra))


#: The plan's summary, counted as its own record counts it (withdrawn commitments do not count).
PLAN_COUNT = "(SELECT count(*) FROM commitments c WHERE c.plan_id = p.id AND c.state <> 'withdrawn')"
PLAN_PROGRESS = """(SELECT coalesce(round(avg(c.progress), 1), 0)::float8 FROM commitments c
      WHERE c.plan_id = p.id AND c.state <> 'withdrawn')"""

#: The milestones of the plan ``$1``, one JSON array per commitment.
MILESTONES_BY_COMMITMENT = f"""
    SELECT m.commitment_id, json_agg(j ORDER BY m.number) AS items
    FROM milestones m CROSS JOIN LATERAL ({MILESTONE}) j
    WHERE m.plan_id = $1 GROUP BY m.commitment_id"""  # noqa: S608

#: The milestones of the commitment of alias ``c`` as a JSON array (``[]`` without any).
MILESTONES_OF_COMMITMENT = f"""coalesce((SELECT json_agg(j ORDER BY m.number)
    FROM milestones m CROSS JOIN LATERAL ({MILESTONE}) j WHERE m.commitment_id = c.id), '[]'::json)"""  # noqa: S608

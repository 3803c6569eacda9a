"""The read side of the plans service: SQL that builds the public JSON, its pages and the
open-data export. Only public data leaves here (never contact details); nothing here writes.

* :mod:`.json_sql`: the public shapes (member, plan, commitment, milestone), each written once,
  as the SQL that makes PostgreSQL build its JSON text, which the API returns as it is;
* :mod:`.records`: single records (a member, a plan, a commitment, a plan's commitments and
  documents);
* :mod:`.history`: the public histories (a member's standing and eligibility scores, a
  commitment's changes, a milestone's progress reports);
* :mod:`.plan_page`: the plan page and its cache, built once per version;
* :mod:`.pagination`: keyset cursors, WHERE clauses and pages;
* :mod:`.lists`: the filtered lists of members, plans and commitments, and the search;
* :mod:`.open_data`: the export's SQL and its stream of rows.
"""

from services.plans.queries.history import (
    commitment_history,
    eligibility_scores,
    member_status_history,
    milestone_updates,
)
from services.plans.queries.json_sql import COMMITMENT_KEYS, MEMBER_KEYS, MILESTONE_KEYS, PLAN_KEYS
from services.plans.queries.lists import OgpValue, list_commitments, list_members, list_plans
from services.plans.queries.open_data import EXPORT_SQL, export_rows
from services.plans.queries.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from services.plans.queries.plan_page import PageCache, plan_page
from services.plans.queries.records import (
    commitment_json,
    member_record,
    plan_commitments_json,
    plan_documents,
    plan_record,
)

__all__ = [
    "COMMITMENT_KEYS",
    "DEFAULT_LIMIT",
    "EXPORT_SQL",
    "MAX_LIMIT",
    "MEMBER_KEYS",
    "MILESTONE_KEYS",
    "PLAN_KEYS",
    "OgpValue",
    "Page",
    "PageCache",
    "commitment_history",
    "commitment_json",
    "eligibility_scores",
    "export_rows",
    "list_commitments",
    "list_members",
    "list_plans",
    "member_record",
    "member_status_history",
    "milestone_updates",
    "plan_commitments_json",
    "plan_documents",
    "plan_page",
    "plan_record",
]

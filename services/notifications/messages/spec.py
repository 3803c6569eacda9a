"""The contract callers code against: which messages exist, which params each takes, and which
params are codes to translate rather than text to show.

Kept apart from the catalogs so the test can hold every translation to this one declaration.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType


def _params(*names: str) -> frozenset[str]:
    return frozenset(names)


#: template name -> the params it takes (values are plain strings given by the caller)
TEMPLATES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "plan_submitted": _params("plan_title", "submitted_on"),
        "review_scheduled": _params("plan_title", "review_kind", "due_date"),
        "review_assigned": _params("plan_title", "review_kind", "due_date"),
        "review_draft_open": _params("plan_title", "review_kind", "comments_until", "url"),
        "review_published": _params("plan_title", "review_kind", "url"),
        "review_due_soon": _params("plan_title", "review_kind", "due_date", "days_left"),
        "review_overdue": _params("plan_title", "review_kind", "due_date"),
        "consultation_scheduled": _params("plan_title", "round_title", "opens_on", "closes_on"),
        "consultation_short_notice": _params(
            "plan_title", "round_title", "opens_on", "notice_days", "required_days"
        ),
        "consultation_opened": _params("plan_title", "round_title", "closes_on"),
        "consultation_closing_soon": _params("plan_title", "round_title", "closes_on"),
        "consultation_closed": _params("plan_title", "round_title", "closed_on", "submissions", "comments"),
        "response_received": _params("plan_title", "round_title", "decision", "url"),
        "input_flagged": _params("plan_title", "round_title", "input_kind"),
        "milestone_overdue": _params("plan_title", "milestone_number", "end_date"),
        "forum_meeting_overdue": _params("member_name", "since", "due_on"),
        "next_plan_overdue": _params("member_name", "due_date"),
        "repository_stale": _params("plan_title", "period_end", "updates_in_period"),
        "delivery_failed": _params("failed_template", "channel", "attempts"),
    }
)

#: Params whose raw value is a code: each is shown through the catalog's label table of the same
#: name (``failed_template`` through the templates' own ``short`` titles instead).
LABEL_VALUES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "review_kind": frozenset(
            {"co_creation_brief", "action_plan_review", "midterm_review", "results_report"}
        ),
        "decision": frozenset({"accepted", "partly_accepted", "merged", "rejected", "out_of_scope", "noted"}),
        "input_kind": frozenset({"submission", "comment"}),
        "channel": frozenset({"email", "sms"}),
    }
)

#: The param naming another template; shown by that template's short title.
TEMPLATE_REFERENCE = "failed_template"

#: The param holding a link: the only one made clickable in HTML and allowed into an SMS.
URL_PARAM = "url"

PERIODS = frozenset({"daily", "weekly"})

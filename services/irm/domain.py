"""IRM deadlines, free of I/O."""

from __future__ import annotations

from datetime import date

from dateutil.relativedelta import relativedelta


def add_months(day: date, months: int) -> date:
    """Calendar months, clamped to the month's last day (31 Oct + 4 months = 28/29 Feb): the way
    OGP counts its "four months after submission"."""
    result: date = day + relativedelta(months=months)
    return result


def action_plan_review_due(submitted_on: date, months: int = 4) -> date:
    return add_months(submitted_on, months)

"""The plans service's repositories: the only write-side SQL of the service.

``PlansUnitOfWork`` (:mod:`.protocols`) is what use cases see; :class:`PgPlansUnitOfWork`
(:mod:`.postgres`) is the Postgres one, which the runtime builds for HTTP requests, reactions,
timers and imports. The timers' candidate scans (:mod:`.timers`) and the imports' lookups
(:mod:`.imports`) are repositories of their own on it.
"""

from services.plans.store.columns import COMMITMENT_COLUMNS, MEMBER_COLUMNS, MILESTONE_COLUMNS, PLAN_COLUMNS
from services.plans.store.imports import PgImportLookups, holding_import_lock
from services.plans.store.postgres import PgPlansUnitOfWork
from services.plans.store.protocols import (
    Commitments,
    Documents,
    ImportLookups,
    Members,
    Milestones,
    Plans,
    PlansUnitOfWork,
    TimerEmissions,
    TimerScans,
)
from services.plans.store.timers import PgTimerScans

__all__ = [
    "COMMITMENT_COLUMNS",
    "MEMBER_COLUMNS",
    "MILESTONE_COLUMNS",
    "PLAN_COLUMNS",
    "Commitments",
    "Documents",
    "ImportLookups",
    "Members",
    "Milestones",
    "PgImportLookups",
    "PgPlansUnitOfWork",
    "PgTimerScans",
    "Plans",
    "PlansUnitOfWork",
    "TimerEmissions",
    "TimerScans",
    "holding_import_lock",
]

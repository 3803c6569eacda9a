"""The plans service's repositories: the only write-side SQL of the service.

``PlansUnitOfWork`` (:mod:`.protocols`) is what use cases see; :class:`PgPlansUnitOfWork`
(:mod:`.postgres`) is the Postgres one, which the runtime builds for HTTP requests, reactions,
timers and imports.
"""

from services.plans.store.columns import COMMITMENT_COLUMNS, MEMBER_COLUMNS, MILESTONE_COLUMNS, PLAN_COLUMNS
from services.plans.store.postgres import PgPlansUnitOfWork
from services.plans.store.protocols import (
    Commitments,
    Documents,
    Members,
    Milestones,
    Plans,
    PlansUnitOfWork,
    TimerEmissions,
)

__all__ = [
    "COMMITMENT_COLUMNS",
    "MEMBER_COLUMNS",
    "MILESTONE_COLUMNS",
    "PLAN_COLUMNS",
    "Commitments",
    "Documents",
    "Members",
    "Milestones",
    "PgPlansUnitOfWork",
    "Plans",
    "PlansUnitOfWork",
    "TimerEmissions",
]

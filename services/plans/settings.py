from datetime import date

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class PlansSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PLANS_", extra="ignore")

    service_name: str = "plans"
    database_url: str = "postgresql://postgres@127.0.0.1:55432/sharaka_plans"
    http_port: int = 8001
    #: Largest body of ``POST /v1/imports/commitments`` and ``/v1/imports/milestone-progress``
    #: (OGP's whole commitments database is many MB), instead of ``http_max_body_bytes``, which
    #: every other route keeps. The body is spooled to a temporary file above a few MB.
    import_max_bytes: int = Field(default=200_000_000, ge=1)

    # --- timers (services/plans/timers.py) ------------------------------------------------
    #: Run the OGP timers in this process. Replicas elect one active runner among themselves, so
    #: leaving this on everywhere is safe; turn it off for a read-only or import-only replica.
    timers_enabled: bool = True
    #: Seconds between two passes of the active runner. The checks are day-based, so a minute is
    #: plenty; tests use a fraction of a second.
    timers_interval_s: float = Field(default=60.0, gt=0)
    #: How often a standby retries to become the active runner.
    timers_lock_retry_s: float = Field(default=5.0, gt=0)
    #: Occurrences handled per transaction (bounded transactions, bounded locks).
    timers_batch_size: int = Field(default=500, ge=1)
    #: NextPlanOverdue: calendar months after the previous plan's end date.
    next_plan_grace_months: int = Field(default=12, ge=0)
    #: RepositoryStale: documents expected per year of a plan (OGP co-creation standard 2).
    repository_min_updates_per_year: int = Field(default=2, ge=1)
    #: Clock override for tests and operations ("what would fire on that day?"): the timers use
    #: this date as today instead of the current UTC date. Never set in normal operation.
    timers_today: date | None = None

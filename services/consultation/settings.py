from datetime import UTC, date, datetime

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ConsultationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CONSULTATION_", extra="ignore")

    service_name: str = "consultation"
    database_url: str = "postgresql://postgres@127.0.0.1:55432/sharaka_consultation"
    http_port: int = 8002

    #: Where this service's public API is reached from outside; used in the links of published
    #: documents (the "comments and responses" table announced to the plans repository).
    public_base_url: str = "http://127.0.0.1:8002"

    # --- rounds (standard 3) ----------------------------------------------------------------
    #: Days of notice before a round opens; less is allowed but recorded as short notice.
    notice_days_required: int = Field(default=14, ge=0)

    #: An open round is announced as closing soon (``ConsultationClosingSoon``, once per round)
    #: when it closes within this many days, so that people who follow it can still take part.
    closing_soon_days: int = Field(default=2, ge=1, le=60)

    # --- inputs and abuse control -------------------------------------------------------------
    #: Inputs one person may post per window (submissions and comments together); then 429.
    rate_limit_inputs: int = Field(default=10, ge=1)
    rate_limit_window_s: float = Field(default=60.0, gt=0)
    #: Longest text of a submission or comment, in characters (longer → 422 naming the field;
    #: a body over ``http_max_body_bytes`` → 413 before parsing).
    input_max_chars: int = Field(default=10_000, ge=100)

    # --- timers: rounds opening/closing, ForumMeetingOverdue ----------------------------------
    #: Run the timers in this process; replicas elect one active runner, so on everywhere is safe.
    timers_enabled: bool = True
    #: Longest sleep between two passes; the runner wakes earlier for a round due sooner.
    timers_interval_s: float = Field(default=30.0, gt=0)
    timers_lock_retry_s: float = Field(default=5.0, gt=0)
    timers_batch_size: int = Field(default=200, ge=1)
    #: Clock override for the day-based forum check (tests and "what would fire on that day?").
    timers_today: date | None = None

    # --- participation reports ----------------------------------------------------------------
    #: In the breakdowns by stakeholder type, region and gender, a category with fewer people
    #: than this is folded into ``suppressed``, so that no one is singled out.
    participation_min_cell: int = Field(default=5, ge=1)

    def today(self) -> date:
        """The day the forum's standing is judged on, by the API and the overdue timer alike: the
        clock override when one is set, otherwise today in UTC."""
        return self.timers_today or datetime.now(UTC).date()

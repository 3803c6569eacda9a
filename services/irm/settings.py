from datetime import UTC, date, datetime

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class IrmSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IRM_", extra="ignore")

    service_name: str = "irm"
    database_url: str = "postgresql://postgres@127.0.0.1:55432/sharaka_irm"
    http_port: int = 8003

    # --- products and their deadlines (OGP's periods; all assumed adjustable) -----------------
    #: OGP: the Action Plan Review is due four months after the plan's submission.
    apr_due_months: int = Field(default=4, ge=1, le=24)
    #: The results report is due this many calendar months after the plan's end date.
    results_report_due_months: int = Field(default=4, ge=1, le=24)
    #: Four-year plans: the midterm review opens at the plan's midpoint, due this many months later.
    midterm_due_months: int = Field(default=4, ge=1, le=24)
    #: The optional co-creation brief, opened when a plan enters co-creation.
    co_creation_brief_enabled: bool = False
    co_creation_brief_due_days: int = Field(default=60, ge=1, le=365)

    # --- comment windows on a draft -----------------------------------------------------------
    #: The government and the forum comment first (pre-publication review), for this many days.
    pre_publication_days: int = Field(default=21, ge=1, le=180)
    #: Then anyone signed in (public comment), for this many days.
    public_comment_days: int = Field(default=14, ge=1, le=180)
    #: Longest comment, in characters.
    comment_max_chars: int = Field(default=10_000, ge=100)

    # --- timers: windows that end, reminders, overdue reviews ---------------------------------
    #: ReviewDueSoon is published this many days before a review's due date.
    reminder_days: int = Field(default=14, ge=0, le=180)
    #: Run the timers in this process; replicas elect one active runner, so on everywhere is safe.
    timers_enabled: bool = True
    timers_interval_s: float = Field(default=60.0, gt=0)
    timers_lock_retry_s: float = Field(default=5.0, gt=0)
    timers_batch_size: int = Field(default=200, ge=1)
    #: Clock override (tests, and "what would fire on that day?").
    timers_today: date | None = None

    def today(self) -> date:
        """The day windows and due dates are judged on: the override when set, else today (UTC)."""
        return self.timers_today or datetime.now(UTC).date()

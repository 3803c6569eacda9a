"""Bounded date and time types for every date a request carries.

Postgres stores ``0001-01-01`` and ``9999-12-31`` as given, but Python's ``date`` cannot hold what
is one day beyond them, asyncpg maps Postgres' own ``±infinity`` to ``date.min``/``date.max`` and
back, and an answer or an event then says ``"infinity"``, which no client parses as a date. No
plan, consultation, review or notification of this platform is dated before 1900 or after 2199,
so a value outside that range is a typo or a probe: it is refused with a 422 naming the field,
never stored. Facts recorded after they happened (a published document) must also not be in the
future, with the slack of the earliest time zone on Earth (see :func:`latest_local_date`).

Use :data:`Day`, :data:`PastDay` and :data:`Moment` instead of ``date``/``datetime`` in request
models; :func:`check_day` is the same check for code that parses dates itself.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field

#: The first and last day any request may name.
EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)

#: The earliest time zone (Line Islands, Kiribati) is UTC+14: no calendar anywhere is further ahead.
_EARLIEST_ZONE = timedelta(hours=14)


def latest_local_date(now: datetime | None = None) -> date:
    """The latest calendar date anywhere on Earth at ``now`` (default: the current time).

    A fact recorded on its own local date may be a day ahead of UTC's date; "not in the
    future" therefore means not after this date."""
    at = now if now is not None else datetime.now(UTC)
    return (at.astimezone(UTC) + _EARLIEST_ZONE).date()


def check_day(value: date) -> date:
    """``value`` when it lies within :data:`EARLIEST` .. :data:`LATEST`; ``ValueError`` otherwise
    (pydantic turns it into a 422 naming the field)."""
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"must be between {EARLIEST.isoformat()} and {LATEST.isoformat()}")
    return value


def check_past_day(value: date) -> date:
    """A bounded day that is not in the future anywhere on Earth."""
    check_day(value)
    if value > latest_local_date():
        raise ValueError("must not be in the future")
    return value


def check_moment(value: datetime) -> datetime:
    """A point in time within the same years. The local year is checked, not the UTC one:
    converting year 1 or 9999 to UTC may itself overflow."""
    if not EARLIEST.year <= value.year <= LATEST.year:
        raise ValueError(f"must be between the years {EARLIEST.year} and {LATEST.year}")
    return value


#: The bound as the OpenAPI documents say it (JSON Schema has no range for a ``date``): the year
#: is 19xx, 20xx or 21xx. Clients and fuzzers then send what the service accepts.
_YEARS = Field(json_schema_extra={"pattern": r"^(19|20|21)\d\d-"})

#: A calendar day of a request (1900-01-01 .. 2199-12-31).
Day = Annotated[date, AfterValidator(check_day), _YEARS]
#: A day on which something already happened (a document's publication).
PastDay = Annotated[date, AfterValidator(check_past_day), _YEARS]
#: A point in time of a request, with its UTC offset.
Moment = Annotated[AwareDatetime, AfterValidator(check_moment), _YEARS]
#: A point in time of a request that may come without a UTC offset (taken as UTC by the store).
Timestamp = Annotated[datetime, AfterValidator(check_moment), _YEARS]

"""People the service may write to, and what they chose: channels, language, digest, quiet hours.

Personal data (name, e-mail, phone) stays inside this service: events and logs name a recipient by
``id`` only. The rules here are pure: validating what a person gives, when their quiet hours hold
an SMS back, and when their next digest is due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from shared.errors import Invalid
from shared.events.notifications import Channel

LANGUAGES = ("ar", "en", "fr", "es")
#: The local time digests go out ("the recipient's local morning").
DIGEST_HOUR = time(8, 0)


class RecipientKind(StrEnum):
    CONTACT = "contact"  # a plan's point of contact, learnt from the plans service
    AUTHOR = "author"  # the author of a consultation input who asked to hear of the answer
    ACCOUNT = "account"  # a signed-in person
    PUBLIC = "public"  # a follower without an account (double opt-in)


class DigestMode(StrEnum):
    IMMEDIATE = "immediate"
    DAILY = "daily"
    WEEKLY = "weekly"


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Local times between which no SMS is sent (``start`` > ``end`` spans midnight)."""

    start: time
    end: time

    def until(self, now: datetime, timezone: str) -> datetime | None:
        """When the quiet hours around ``now`` end (UTC), or None when ``now`` is not in them."""
        local = now.astimezone(zone(timezone))
        t = local.time().replace(tzinfo=None)
        if self.start == self.end:
            return None
        inside = self.start <= t < self.end if self.start < self.end else t >= self.start or t < self.end
        if not inside:
            return None
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        return end.astimezone(UTC)


@dataclass(slots=True)
class Recipient:
    """A person the service may write to."""

    id: UUID
    name: str
    email: str | None = None
    phone: str | None = None
    language: str = "en"
    kind: RecipientKind = RecipientKind.CONTACT
    roles: frozenset[str] = frozenset()
    channels: frozenset[Channel] = frozenset({Channel.EMAIL, Channel.SMS})
    digest: DigestMode = DigestMode.IMMEDIATE
    timezone: str = "UTC"
    quiet: QuietHours | None = None
    confirmed_at: datetime | None = None
    email_opt_out_at: datetime | None = None
    sms_opt_out_at: datetime | None = None
    next_digest_at: datetime | None = None

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None

    def reachable_on(self, channel: Channel) -> bool:
        """The person wants this channel, has an address for it and has not opted out of it."""
        if channel not in self.channels:
            return False
        if channel is Channel.EMAIL:
            return bool(self.email) and self.email_opt_out_at is None
        return bool(self.phone) and self.sms_opt_out_at is None

    def choose_digest(self, mode: DigestMode, now: datetime) -> None:
        """Back to immediate messages: what is held goes out in one last digest at once."""
        was, self.digest = self.digest, mode
        if mode is not DigestMode.IMMEDIATE:
            self.next_digest_at = next_digest_at(mode, self.timezone, now)
        elif was is not DigestMode.IMMEDIATE:
            self.next_digest_at = now


# --- what a person gives, checked ------------------------------------------------------------
def check_email(value: str | None, field_name: str = "email") -> str | None:
    if value is None or not value.strip():
        return None
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise Invalid(field_name, f"not a valid e-mail address: {exc}") from None


def check_phone(value: str | None, field_name: str = "phone") -> str | None:
    """E.164 only (``+`` and the country code): no guessing of a region from where the server is."""
    if value is None or not value.strip():
        return None
    try:
        number = phonenumbers.parse(value.strip(), None)
    except phonenumbers.NumberParseException:
        raise Invalid(field_name, "not a phone number in E.164 form (e.g. +14155550123)") from None
    if not phonenumbers.is_valid_number(number):
        raise Invalid(field_name, "not a valid phone number in E.164 form (e.g. +14155550123)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def check_language(value: str, field_name: str = "language") -> str:
    if value not in LANGUAGES:
        raise Invalid(field_name, f"must be one of {', '.join(LANGUAGES)}")
    return value


def check_timezone(value: str, field_name: str = "timezone") -> str:
    try:
        zone(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(field_name, "not an IANA time zone (e.g. Africa/Tunis)") from None
    return value


def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


# --- digests -------------------------------------------------------------------------------------
def next_digest_at(mode: DigestMode, timezone: str, after: datetime) -> datetime:
    """The first local morning (a Monday for weekly) strictly after ``after``, in UTC."""
    local = after.astimezone(zone(timezone))
    candidate = local.replace(hour=DIGEST_HOUR.hour, minute=DIGEST_HOUR.minute, second=0, microsecond=0)
    if candidate <= local:
        candidate += timedelta(days=1)
    if mode is DigestMode.WEEKLY:
        candidate += timedelta(days=(7 - candidate.weekday()) % 7)
    # Rebuild from the wall-clock date so a DST change in between keeps 08:00 local.
    wall = datetime.combine(candidate.date(), DIGEST_HOUR, tzinfo=zone(timezone))
    return wall.astimezone(UTC)


def digest_period(mode: DigestMode, timezone: str, due: datetime) -> str:
    """The name of the period a digest due at ``due`` closes: the local date it goes out (daily)
    or its ISO week (weekly). A person gets one digest per period, whatever happens."""
    local = due.astimezone(zone(timezone)).date()
    if mode is DigestMode.WEEKLY:
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    return local.isoformat()


@dataclass(frozen=True, slots=True)
class PlanContact:
    """Who speaks for a plan (learned from ``PlanCreated``/``PlanSubmitted``)."""

    plan_id: UUID
    member_id: UUID
    contact_id: UUID
    title: str

"""A person's choices, checked: quiet hours, the local morning of a digest and its period, the
addresses and settings a person gives, and which channels reach them."""

from __future__ import annotations

from datetime import UTC, datetime, time
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from services.notifications.domain.recipients import (
    DigestMode,
    QuietHours,
    Recipient,
    check_email,
    check_language,
    check_phone,
    check_timezone,
    digest_period,
    next_digest_at,
)
from shared.errors import Invalid
from shared.events.notifications import Channel

NIGHT = QuietHours(time(22, 0), time(7, 0))
TUNIS = "Africa/Tunis"  # UTC+1 all year


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- quiet hours --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("now", "until"),
    [
        (utc(2025, 3, 1, 21, 0), utc(2025, 3, 2, 6, 0)),  # 22:00 local: the start is inside
        (utc(2025, 3, 1, 22, 30), utc(2025, 3, 2, 6, 0)),  # before midnight: ends tomorrow
        (utc(2025, 3, 2, 2, 0), utc(2025, 3, 2, 6, 0)),  # after midnight: ends this morning
        (utc(2025, 3, 2, 6, 0), None),  # 07:00 local: the end is outside
        (utc(2025, 3, 2, 11, 0), None),  # midday
        (utc(2025, 3, 1, 20, 59), None),
    ],
)
def test_quiet_hours_across_midnight(now: datetime, until: datetime | None) -> None:
    assert NIGHT.until(now, TUNIS) == until


def test_quiet_hours_within_a_day() -> None:
    lunch = QuietHours(time(13, 0), time(14, 30))
    assert lunch.until(utc(2025, 3, 1, 12, 15), TUNIS) == utc(2025, 3, 1, 13, 30)
    assert lunch.until(utc(2025, 3, 1, 11, 59), TUNIS) is None
    assert lunch.until(utc(2025, 3, 1, 13, 30), TUNIS) is None


def test_quiet_hours_from_a_time_to_the_same_time_are_none() -> None:
    assert QuietHours(time(22, 0), time(22, 0)).until(utc(2025, 3, 1, 21, 0), TUNIS) is None


def test_quiet_hours_are_the_person_s_local_time() -> None:
    now = utc(2025, 3, 1, 14, 0)  # 23:00 in Tokyo, 15:00 in Tunis, 09:00 in New York
    assert NIGHT.until(now, "Asia/Tokyo") == utc(2025, 3, 1, 22, 0)  # 07:00 JST
    assert NIGHT.until(now, TUNIS) is None
    assert NIGHT.until(now, "America/New_York") is None
    assert NIGHT.until(utc(2025, 3, 1, 4, 0), "America/New_York") == utc(2025, 3, 1, 12, 0)


def test_quiet_hours_over_a_dst_change_end_at_the_local_time() -> None:
    # Paris springs forward on 2025-03-30: 07:00 local is 05:00 UTC that morning, not 06:00.
    assert NIGHT.until(utc(2025, 3, 29, 22, 0), "Europe/Paris") == utc(2025, 3, 30, 5, 0)


# --- digests ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mode", "after", "due"),
    [
        (DigestMode.DAILY, utc(2025, 3, 1, 12, 0), utc(2025, 3, 2, 7, 0)),  # tomorrow 08:00 local
        (DigestMode.DAILY, utc(2025, 3, 1, 6, 59), utc(2025, 3, 1, 7, 0)),  # this morning still
        (DigestMode.DAILY, utc(2025, 3, 1, 7, 0), utc(2025, 3, 2, 7, 0)),  # strictly after
        (DigestMode.WEEKLY, utc(2025, 3, 1, 12, 0), utc(2025, 3, 3, 7, 0)),  # Saturday → Monday
        (DigestMode.WEEKLY, utc(2025, 3, 3, 6, 0), utc(2025, 3, 3, 7, 0)),  # Monday before 08:00
        (DigestMode.WEEKLY, utc(2025, 3, 3, 8, 0), utc(2025, 3, 10, 7, 0)),  # Monday after: next one
    ],
)
def test_the_next_digest_is_the_next_local_morning(mode: DigestMode, after: datetime, due: datetime) -> None:
    got = next_digest_at(mode, TUNIS, after)
    assert got == due
    assert got.tzinfo is UTC


@pytest.mark.parametrize(
    ("mode", "after", "due"),
    [
        (DigestMode.DAILY, utc(2025, 3, 29, 12, 0), utc(2025, 3, 30, 6, 0)),  # CET → CEST
        (DigestMode.DAILY, utc(2025, 10, 25, 12, 0), utc(2025, 10, 26, 7, 0)),  # CEST → CET
        (DigestMode.WEEKLY, utc(2025, 3, 25, 12, 0), utc(2025, 3, 31, 6, 0)),  # a week over the change
    ],
)
def test_a_dst_change_keeps_the_digest_at_eight_local(
    mode: DigestMode, after: datetime, due: datetime
) -> None:
    got = next_digest_at(mode, "Europe/Paris", after)
    assert got == due
    assert got.astimezone(ZoneInfo("Europe/Paris")).time() == time(8, 0)


def test_a_weekly_digest_is_always_on_a_monday() -> None:
    for day in range(1, 15):
        due = next_digest_at(DigestMode.WEEKLY, "Asia/Tokyo", utc(2025, 3, day, 12, 0))
        local = due.astimezone(ZoneInfo("Asia/Tokyo"))
        assert (local.weekday(), local.time()) == (0, time(8, 0))


def test_a_digest_period_is_its_local_date_or_iso_week() -> None:
    late = utc(2025, 3, 1, 23, 30)  # already the 2nd in Tokyo
    assert digest_period(DigestMode.DAILY, "UTC", late) == "2025-03-01"
    assert digest_period(DigestMode.DAILY, "Asia/Tokyo", late) == "2025-03-02"
    assert digest_period(DigestMode.WEEKLY, TUNIS, utc(2025, 3, 3, 7, 0)) == "2025-W10"
    assert digest_period(DigestMode.WEEKLY, TUNIS, utc(2024, 12, 30, 7, 0)) == "2025-W01"  # ISO year


def test_choosing_a_digest_sets_the_next_one_and_going_back_flushes_at_once() -> None:
    r = Recipient(uuid4(), "Nadia", timezone=TUNIS)
    now = utc(2025, 3, 1, 12, 0)
    r.choose_digest(DigestMode.DAILY, now)
    assert r.next_digest_at == utc(2025, 3, 2, 7, 0)
    r.choose_digest(DigestMode.IMMEDIATE, now)
    assert (r.digest, r.next_digest_at) == (DigestMode.IMMEDIATE, now)  # what is held goes now
    fresh = Recipient(uuid4(), "Omar")
    fresh.choose_digest(DigestMode.IMMEDIATE, now)
    assert fresh.next_digest_at is None  # nothing was held


# --- what a person gives ------------------------------------------------------------------------
def test_good_values_are_kept_normalised() -> None:
    assert check_email("  Nadia@EXAMPLE.org ") == "Nadia@example.org"
    assert check_phone(" +216 20 123 456 ") == "+21620123456"
    assert check_language("ar") == "ar"
    assert check_timezone(TUNIS) == TUNIS
    assert check_email(None) is None and check_email("  ") is None
    assert check_phone(None) is None and check_phone("") is None


@pytest.mark.parametrize(
    ("check", "value", "field"),
    [
        (check_email, "not-an-email", "email"),
        (check_email, "a@b", "email"),
        (check_phone, "0612345678", "phone"),  # no country code: no region is guessed
        (check_phone, "+1555", "phone"),
        (check_phone, "call me", "phone"),
        (check_language, "de", "language"),
        (check_language, "AR", "language"),
        (check_timezone, "Mars/Base", "timezone"),
        (check_timezone, "../../etc/passwd", "timezone"),
        (check_timezone, "", "timezone"),
    ],
)
def test_bad_values_are_refused_naming_the_field(check: object, value: str, field: str) -> None:
    assert callable(check)
    with pytest.raises(Invalid) as err:
        check(value)
    assert [f for f, _ in err.value.errors] == [field]


def test_the_field_named_can_be_chosen() -> None:
    with pytest.raises(Invalid) as err:
        check_email("nope", "contact_email")
    assert err.value.errors[0][0] == "contact_email"


# --- channels -----------------------------------------------------------------------------------
def test_a_channel_reaches_a_person_who_wants_it_has_an_address_and_did_not_opt_out() -> None:
    both = Recipient(uuid4(), "Nadia", email="n@example.org", phone="+21620123456")
    assert both.reachable_on(Channel.EMAIL) and both.reachable_on(Channel.SMS)
    email_only = Recipient(uuid4(), "Nadia", email="n@example.org", phone="+21620123456",
                           channels=frozenset({Channel.EMAIL}))  # fmt: skip
    assert not email_only.reachable_on(Channel.SMS)
    assert not Recipient(uuid4(), "Nadia", email="n@example.org").reachable_on(Channel.SMS)
    stopped = Recipient(uuid4(), "Nadia", phone="+21620123456", sms_opt_out_at=utc(2025, 1, 1))
    assert not stopped.reachable_on(Channel.SMS)

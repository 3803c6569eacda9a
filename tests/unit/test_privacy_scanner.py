"""The privacy scanner finds e-mail addresses and phone numbers in the forms people type them, and
does not cry wolf on what logs and events are full of (ids, times, offsets, decimals): an audit
that reports noise gets switched off, one that misses a local format proves nothing."""

from __future__ import annotations

import pytest

from tests.privacy import find_personal, scan_text

PERSONAL = [
    ("write to salma.benali@example.org now", "salma.benali@example.org"),
    ('{"email":"A.Otieno+ogp@example.ke"}', "A.Otieno+ogp@example.ke"),
    ("+21612345678", "+21612345678"),
    ("call +216 12 345 678 today", "+216 12 345 678"),
    ("+33 6 12 34 56 78", "+33 6 12 34 56 78"),
    ('"phone":"+447911123456"', "+447911123456"),
    ("tel:+14155550123", "+14155550123"),
    ("06 12 34 56 78", "06 12 34 56 78"),
    ("06.12.34.56.78", "06.12.34.56.78"),
    ("0612345678", "0612345678"),
    ("(415) 555-0123", "(415) 555-0123"),
    ("415-555-0123", "415-555-0123"),
    ("0712 345678", "0712 345678"),
    ("020 7946 0958", "020 7946 0958"),
]

NOT_PERSONAL = [
    "2026-11-30T00:10:48.123456+00:00",
    '"ce_time": "2026-11-30T00:10:48.123Z"',
    "12:30:45+01:00",
    "2027-01-01 to 2028-12-31",
    '"title":"Plan 2026-2028"',
    "Plan national 2025 - 2027, budget 2026/27",
    "550e8400-e29b-41d4-a716-446655440000",
    "12345678-1234-1234-1234-123456789012",
    "00000000-0000-0000-0000-000000000000",
    "trace_id 4bf92f3577b34da6a3ce929d0e0e4736 span_id 00f067aa0ba902b7",
    "sha256 " + "0123456789" * 6 + "abcd",
    "offset 1234567890",
    "partition 2 offset 4155550123",
    "kafka_offset=123456789",
    "count 23456789",
    "ts 1764461448123",
    '"duration_ms": 0.123456789',
    "status 201 in 0.004231 s",
    "1.5e+10",
    "127.0.0.1:5432",
    "port 54321",
    "version 3.11.14",
    "v1.2.3-4567890",
    "pid=1234567 took 12.5 s",
    "[0, 1, 2, 3, 4, 5, 6]",
    "ids 1234567, 7654321",
    "Plan 12345678",
    "no-reply@sharaka.invalid",
    "Message-ID: <550e8400-e29b-41d4-a716-446655440000@sharaka.invalid>",
    "From +15005550006",
]


@pytest.mark.parametrize(("text", "value"), PERSONAL)
def test_finds_an_address_or_a_number_as_people_write_them(text: str, value: str) -> None:
    assert [v for _, v in find_personal(text)] == [value]


@pytest.mark.parametrize("text", NOT_PERSONAL)
def test_ids_times_offsets_and_the_platforms_own_addresses_are_not_personal(text: str) -> None:
    assert find_personal(text) == []


def test_a_finding_says_where_what_and_around_it() -> None:
    [finding] = scan_text("plans.log:12", '{"event": "x", "to": "+21620123456"}')
    assert (finding.where, finding.kind, finding.value) == ("plans.log:12", "phone", "+21620123456")
    assert "+21620123456" in finding.context and "plans.log:12" in str(finding)

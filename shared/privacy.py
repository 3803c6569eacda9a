"""Masking of contact details in text the public sees, in links and in log lines.

One function decides what an e-mail address or a phone number looks like, so a consultation
input, a reasoned response, a link and a log line are masked alike. Figures, years and dates are
kept: a budget line is not a phone number.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import unquote

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A run of digits with the separators people type inside phone numbers...
_PHONE_LIKE = re.compile(r"(?<![\w(+])[+(]?\d[\d\s().-]{6,}\d(?![\w])")
# ...that is not a span of years ("2024-2026") or a date.
_NOT_A_PHONE = re.compile(r"\d{4}\s*[-/]\s*\d{4}|\d{4}-\d\d-\d\d|\d\d?[./-]\d\d?[./-]\d{4}")
EMAIL_MASK = "[e-mail removed]"
PHONE_MASK = "[phone removed]"
#: Fewer digits than this are not taken for a phone number.
PHONE_MIN_DIGITS = 8
_DIGIT = re.compile(r"\d")


def _phone(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = sum(c.isdigit() for c in text)
    international = text.startswith(("+", "00", "("))
    # Eight bare digits ("20242026") are too often a number of something else.
    bare_eight = digits == PHONE_MIN_DIGITS and not international and " " not in text
    if _NOT_A_PHONE.fullmatch(text.strip()) or digits < PHONE_MIN_DIGITS or bare_eight:
        return text
    return PHONE_MASK


def _may_hold_phone(text: str) -> bool:
    """Whether ``text`` has digits enough for a phone number anywhere in it. A phone match is
    made of ``\\d`` digits and separators only, so a text with fewer than
    :data:`PHONE_MIN_DIGITS` of them has no match that :func:`_phone` would mask. Most texts (and
    nearly every log value) have few digits; this C-level scan is much cheaper than the pattern."""
    return len(_DIGIT.findall(text)) >= PHONE_MIN_DIGITS


def _mask_contacts(text: str, phone: Callable[[re.Match[str]], str]) -> str:
    # No "@", no e-mail address: the e-mail pattern, tried at every character of every word,
    # is the slowest part of masking a text that has none.
    if "@" in text:
        text = _EMAIL.sub(EMAIL_MASK, text)
    return _PHONE_LIKE.sub(phone, text) if _may_hold_phone(text) else text


def redact_contacts(text: str) -> str:
    """Mask e-mail addresses and phone numbers that people type into their own text.

    Where the text is kept whole (moderators see an input as written) this is applied to what
    is published; what the public API, a public event or a log line carries never holds a way to
    reach someone, even when its author pasted one in."""
    return _mask_contacts(text, _phone)


#: Schemes whose whole point is to reach a person.
_CONTACT_SCHEMES = ("mailto:", "tel:", "sms:", "callto:", "fax:")
# In a URL, only an explicitly international number is taken for a phone: paths and queries are
# full of long numeric ids (a document number, a post id) that the text rule would mask.
_URL_PHONE = re.compile(r"(?:\+|%2[bB])\d[\d.()-]{6,}\d(?!\d)")


def redact_link(url: str) -> str | None:
    """A link as the public may see it: None for a ``mailto:``/``tel:``/``sms:`` link (only a
    way to reach someone), otherwise the link with e-mail addresses (also percent-encoded) and
    international phone numbers in it masked."""
    if url.strip().lower().startswith(_CONTACT_SCHEMES):
        return None
    decoded = unquote(url)
    if (
        _EMAIL.search(decoded) is None
        and _URL_PHONE.search(url) is None
        and _URL_PHONE.search(decoded) is None
    ):
        return url
    return _URL_PHONE.sub(PHONE_MASK, _EMAIL.sub(EMAIL_MASK, decoded))


# asyncpg's ``str(error)`` appends Postgres' DETAIL (``Failing row contains (…)`` quotes the
# whole row, personal data included) and HINT lines to the message.
_DB_DETAIL = re.compile(r"\n?\s*(?:DETAIL|HINT):.*", re.DOTALL)
_FAILING_ROW = re.compile(r"Failing row contains[^\n]*")


# An IPv4 address in a log line (a broker, a database) is not a phone number.
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")


def _log_phone(match: re.Match[str]) -> str:
    return match.group(0) if _IPV4.fullmatch(match.group(0).strip()) else _phone(match)


def scrub(text: str) -> str:
    """A text fit for a log line or an error answer: no database row details, no e-mail
    address, no phone number (addresses of machines are kept)."""
    if "DETAIL:" in text or "HINT:" in text:
        text = _DB_DETAIL.sub("", text)
    if "Failing row contains" in text:
        text = _FAILING_ROW.sub("Failing row contains (…)", text)
    return _mask_contacts(text, _log_phone)

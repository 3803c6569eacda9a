"""How the author of an input may ask to hear of the government's reasoned response, and how a
person's contact details are erased again.

The contact is personal data kept apart from everything public: its own table, a private
compacted topic keyed by the input (:class:`AuthorContactRegistered`), never in a read answer, a
public event or a log line. Erasure names the person only by digests (:mod:`shared.events.privacy`)
and forgets every input's contact that matches them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from shared.errors import Invalid
from shared.events.consultation import AuthorContactRegistered

#: The languages the notifications service writes in.
LANGUAGES = ("ar", "en", "fr", "es")
#: Where the contact sits in the request body, for the 422's field names.
FIELD = "notify"


@dataclass(frozen=True, slots=True)
class ContactRequest:
    """The ``notify`` part of a post, as the author typed it (checked by :meth:`checked`)."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    language: str | None = None

    def checked(self, *, display_name: str | None, input_language: str) -> ContactDetails:
        """The details in the form they are stored and published; every field at fault is named
        at once (``notify.email``, ``notify.phone``, ``notify.language``), without echoing the
        value, so that a refusal carries no personal data either.

        Defaults: the name the author shows the public (else none), the language of the input
        itself when it is one of :data:`LANGUAGES` (else English)."""
        faults: list[tuple[str, str]] = []
        email = _email(self.email, faults)
        phone = _phone(self.phone, faults)
        language = self.language if self.language is not None else _primary(input_language)
        if language not in LANGUAGES:
            faults.append((f"{FIELD}.language", f"must be one of {', '.join(LANGUAGES)}"))
        if email is None and phone is None and not faults:
            faults.append((FIELD, "give an e-mail address or a phone number to be told of the response"))
        if faults:
            raise Invalid.many("the contact to notify is not usable", faults)
        name = self.name.strip() if self.name and self.name.strip() else (display_name or "")
        return ContactDetails(name, email, phone, language)


@dataclass(frozen=True, slots=True)
class ContactDetails:
    name: str
    email: str | None
    phone: str | None
    language: str


def _email(raw: str | None, faults: list[tuple[str, str]]) -> str | None:
    """The address as ``email-validator`` normalises it, then lower-cased whole.

    Lower-casing here is what makes erasure reliable: the request names the person by the digest
    of the trimmed, lower-cased address (:func:`shared.events.privacy.digest`, Python's Unicode
    ``lower``), and the erasure compares in SQL, where ``lower`` follows the server's locale and
    may leave non-ASCII capitals alone. Stored already lower-case, both give the same digest on
    any server. (Mailboxes are case-insensitive in practice; the domain always is.)"""
    if raw is None or not raw.strip():
        return None
    try:
        checked = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError:
        faults.append((f"{FIELD}.email", "not a valid e-mail address"))
        return None
    return checked.normalized.lower()


def _phone(raw: str | None, faults: list[tuple[str, str]]) -> str | None:
    """E.164 (``+21671123456``): the number must be written internationally, since nothing tells
    which country a local number would belong to."""
    if raw is None or not raw.strip():
        return None
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        faults.append(
            (f"{FIELD}.phone", "not a valid phone number in international form (+ and the country code)")
        )
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _primary(tag: str) -> str:
    """``fr`` of ``fr-CA``; English when the input's language is not one notifications speak."""
    primary = tag.split("-", 1)[0].lower()
    return primary if primary in LANGUAGES else "en"


@dataclass(frozen=True, slots=True)
class AuthorContact:
    """The contact left with one input; one per input, erased with the person."""

    input_id: UUID
    round_id: UUID
    plan_id: UUID
    details: ContactDetails
    created_at: datetime

    def event(self) -> AuthorContactRegistered:
        d = self.details
        return AuthorContactRegistered(
            input_id=self.input_id,
            round_id=self.round_id,
            plan_id=self.plan_id,
            name=d.name,
            email=d.email,
            phone=d.phone,
            language=d.language,
        )


@dataclass(frozen=True, slots=True)
class Erasure:
    """One erasure request as this service applied it: the count is the whole audit (no digest,
    no address), so the record of having erased someone does not itself identify them."""

    erasure_id: UUID
    contacts_erased: int
    applied_at: datetime
    #: True when this erasure had been applied before (a replay): nothing was done again.
    already_applied: bool = False


def normalised_digest(value: str | None) -> str | None:
    """A digest as compared with the stored ones: hex is hex whatever its case; blank is none."""
    if value is None or not value.strip():
        return None
    return value.strip().lower()

"""The values that cross the package boundary: what the caller gives and what it gets back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Links:
    """Per-recipient URLs, signed by the caller: this package only places them in the footer."""

    unsubscribe_url: str  # one-click unsubscribe page for this message
    preferences_url: str  # where the person manages subscriptions and preferences


@dataclass(frozen=True, slots=True)
class Rendered:
    language: str  # the language actually used (fallback en for an unknown one)
    direction: str  # "rtl" for ar, else "ltr"
    subject: str
    text: str  # text/plain part
    html: str  # text/html part (a full document)
    sms: str  # the short SMS version


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One message folded into a digest instead of being sent on its own."""

    template: str
    params: Mapping[str, str]
    at: datetime

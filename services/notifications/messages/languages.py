"""Which languages we write in, and how a recipient's stored preference maps onto one of them.

Contact records hold whatever the person or an import gave (``fr-CA``, ``AR``, ``es_419``, nothing):
rather than sending nothing, we fall back to English, the language every catalog is checked against.
"""

from __future__ import annotations

LANGUAGES: tuple[str, ...] = ("ar", "en", "fr", "es")
FALLBACK = "en"
_RIGHT_TO_LEFT = frozenset({"ar"})


def language_of(requested: str | None) -> str:
    """One of LANGUAGES: the primary subtag of a language tag if we have it, else English."""
    if not requested:
        return FALLBACK
    primary = requested.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in LANGUAGES else FALLBACK


def direction_of(language: str) -> str:
    return "rtl" if language in _RIGHT_TO_LEFT else "ltr"

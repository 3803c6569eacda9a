"""The quick pre-checks of :mod:`shared.privacy` (no ``@``, too few digits) change nothing: on
any text, masking and log scrubbing give exactly what the patterns alone give."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shared import privacy
from shared.privacy import EMAIL_MASK, redact_contacts, scrub


def _reference_redact(text: str) -> str:
    return privacy._PHONE_LIKE.sub(privacy._phone, privacy._EMAIL.sub(EMAIL_MASK, text))


def _reference_scrub(text: str) -> str:
    text = privacy._DB_DETAIL.sub("", text)
    text = privacy._FAILING_ROW.sub("Failing row contains (…)", text)
    return privacy._PHONE_LIKE.sub(privacy._log_phone, privacy._EMAIL.sub(EMAIL_MASK, text))


# Pieces that make contacts, near-contacts and database details likely, in several scripts.
_PIECES = st.sampled_from(
    [
        "0", "1", "7", "9", "٣", "\u0667", "۴", "१", "²", " ", "-", ".", "(", ")", "+", "/", "@", "a", "é",
        "ب", "\n", "\t", "_", "DETAIL: ", "HINT: ", "Failing row contains (1, x)", "ana@example.org",
        "+216 71 123 456", "0021671123456", "2024-2026", "12.04.2026", "10.244.12.134", "x.y@z",
    ]
)  # fmt: skip
_TEXTS = st.lists(_PIECES, max_size=40).map("".join) | st.text(max_size=200)


@settings(max_examples=3000, deadline=None)
@given(_TEXTS)
def test_masking_is_unchanged_by_the_pre_checks(text: str) -> None:
    assert redact_contacts(text) == _reference_redact(text)
    assert scrub(text) == _reference_scrub(text)


def test_examples_still_masked() -> None:
    assert redact_contacts("write to ana@example.org or +216 71 123 456") == (
        f"write to {EMAIL_MASK} or {privacy.PHONE_MASK}"
    )
    assert scrub("row: DETAIL: Failing row contains (1, ana@example.org)") == "row:"
    assert scrub("call ٠٠٢١٦٧١١٢٣٤٥٦ now") == f"call {privacy.PHONE_MASK} now"

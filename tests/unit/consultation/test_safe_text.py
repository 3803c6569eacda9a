"""The pattern that refuses control characters and lone surrogates in stored text refuses exactly
what the character-by-character rule it replaced refused, with the same message."""

from __future__ import annotations

import pytest

from services.consultation.schemas import _safe


def _rule(value: str) -> str:
    for c in value:
        code = ord(c)
        if (code < 32 and c not in "\n\r\t") or 0xD800 <= code <= 0xDFFF or code == 0x7F:
            raise ValueError(f"contains a control character (U+{code:04X})")
    return value


def _outcome(check: object, value: str) -> str:
    try:
        return str(check(value))  # type: ignore[operator]
    except ValueError as err:
        return f"refused: {err}"


def test_every_code_point_is_judged_as_before() -> None:
    for code in range(0x110000):
        value = f"ab{chr(code)}c\x01"  # the first offending character is the one named
        assert _outcome(_safe, value) == _outcome(_rule, value), hex(code)


@pytest.mark.parametrize("value", ["", "plain", "tab\tnew\nline\r", "مرحبا", "emoji 🙂"])
def test_ordinary_text_passes(value: str) -> None:
    assert _safe(value) == value

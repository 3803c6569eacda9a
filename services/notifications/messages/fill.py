"""Filling a catalog string's ``{placeholders}``, once per output, each with its own safety rule.

Catalog text is plain text; param values come from people (plan titles, names). So:

* HTML: the catalog text is escaped, then every value is escaped as it is inserted (markupsafe's
  ``Markup.format``); values that are already Markup (a nested, filled string) pass through.
  In right-to-left HTML each value sits in ``<bdi>`` so a Latin title keeps its punctuation.
* text/plain: values go in verbatim; in right-to-left text each one is wrapped in FIRST STRONG
  ISOLATE ... POP DIRECTIONAL ISOLATE, and each paragraph starts with a RIGHT-TO-LEFT MARK, since
  plain text has no ``dir`` attribute and a Latin title or URL would otherwise scramble the line.
* subject and SMS: verbatim, no marks (headers and handsets; every character counts in an SMS).

A value that is itself a filled string (``Filled`` for text, ``Markup`` for HTML: a digest line's
item subject, a footer label) goes in as it is: its own params are already escaped and isolated.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from markupsafe import Markup, escape

from services.notifications.messages.spec import URL_PARAM

RLM = "\u200f"
FSI = "\u2068"
PDI = "\u2069"
_LINKABLE_SCHEMES = frozenset({"http", "https"})


class Filled(str):
    """Text already filled by ``text`` (or catalog text that needs no isolating)."""

    __slots__ = ()


def plain(pattern: str, values: Mapping[str, str]) -> str:
    return pattern.format_map(values)


def text(pattern: str, values: Mapping[str, str], *, rtl: bool) -> Filled:
    if rtl:
        values = {key: v if isinstance(v, Filled) else f"{FSI}{v}{PDI}" for key, v in values.items()}
    return Filled(pattern.format_map(values))


def mark_paragraphs(body: str) -> str:
    """Start every non-empty line with a RIGHT-TO-LEFT MARK (for right-to-left text parts only)."""
    return "\n".join(f"{RLM}{line}" if line.strip() else line for line in body.split("\n"))


def link(url: str) -> Markup:
    """An anchor for an http(s) URL; anything else (say ``javascript:``) stays inert text."""
    if urlsplit(url.strip()).scheme.lower() not in _LINKABLE_SCHEMES:
        return escape(url)
    return Markup('<a href="{0}">{0}</a>').format(url)


def html(pattern: str, values: Mapping[str, str | Markup], *, rtl: bool) -> Markup:
    shown: dict[str, str | Markup] = {}
    for key, value in values.items():
        if isinstance(value, Markup):
            shown[key] = value
            continue
        inner = link(value) if key == URL_PARAM else value
        shown[key] = Markup("<bdi>{0}</bdi>").format(inner) if rtl else inner
    return escape(pattern).format_map(shown)

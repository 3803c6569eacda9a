"""Putting a message together: catalog texts for the language, params filled per output, layouts.

Each function returns all parts at once (subject, text, HTML, SMS) so the caller picks the channel
without rendering twice, and every part comes from the same filled values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from services.notifications.messages import fill
from services.notifications.messages.catalogs import CATALOGS, Catalog
from services.notifications.messages.engine import render_layout
from services.notifications.messages.languages import direction_of, language_of
from services.notifications.messages.model import DigestItem, Links, Rendered
from services.notifications.messages.spec import LABEL_VALUES, PERIODS, TEMPLATE_REFERENCE, TEMPLATES


@dataclass(frozen=True, slots=True)
class _Frame:
    """What all parts of one recipient's message share: language, direction, greeting, footer."""

    catalog: Catalog
    language: str
    direction: str
    name: str

    @classmethod
    def of(cls, language: str, name: str) -> _Frame:
        chosen = language_of(language)
        return cls(CATALOGS[chosen], chosen, direction_of(chosen), name)

    @property
    def rtl(self) -> bool:
        return self.direction == "rtl"

    def text(self, pattern: str, **values: str) -> fill.Filled:
        return fill.text(pattern, values, rtl=self.rtl)

    def html(self, pattern: str, **values: str | Markup) -> Markup:
        return fill.html(pattern, values, rtl=self.rtl)

    def sms(self, message: str) -> str:
        return fill.plain(self.catalog.common["sms"], {"message": message})

    def link_line(self, label: str, url: str) -> str:
        return self.text(self.catalog.common["link_line"], label=fill.Filled(label), url=url)

    def footer(self, links: Links) -> tuple[dict[str, Any], dict[str, Any]]:
        """The (text, HTML) layout variables of the preferences and unsubscribe footer."""
        common = self.catalog.common
        lines = [
            self.link_line(common["preferences"], links.preferences_url),
            self.link_line(common["unsubscribe"], links.unsubscribe_url),
        ]
        html = {"links": links, "preferences": common["preferences"], "unsubscribe": common["unsubscribe"]}
        return {"footer": lines}, html

    def greeting(self) -> tuple[str, Markup]:
        """With the name when we have one; "Dear ," is worse than no name at all."""
        common = self.catalog.common
        if not self.name.strip():
            return common["greeting"], escape(common["greeting"])
        named = common["greeting_named"]
        return self.text(named, name=self.name), self.html(named, name=self.name)

    def layout(
        self, name: str, *, subject: str, text: Mapping[str, Any], html: Mapping[str, Any]
    ) -> tuple[str, str]:
        common = self.catalog.common
        greeting_text, greeting_html = self.greeting()
        shared = {"subject": subject, "signature": common["signature"]}
        # One trailing newline whatever the layout's last block ends with.
        text_part = (
            render_layout(f"{name}.txt.j2", greeting=greeting_text, **shared, **text).strip("\n") + "\n"
        )
        if self.rtl:
            text_part = fill.mark_paragraphs(text_part)
        html_part = render_layout(
            f"{name}.html.j2",
            lang=self.language,
            dir=self.direction,
            greeting=greeting_html,
            **shared,
            **html,
        )
        return text_part, html_part

    def rendered(self, subject: str, parts: tuple[str, str], sms: str) -> Rendered:
        return Rendered(self.language, self.direction, subject, parts[0], parts[1], sms)


def _values(template: str, params: Mapping[str, str], catalog: Catalog) -> dict[str, str]:
    """The declared params, codes replaced by their labels; extra params are dropped."""
    try:
        declared = TEMPLATES[template]
    except KeyError:
        raise KeyError(f"unknown template {template!r}") from None
    missing = sorted(declared - params.keys())
    if missing:
        raise ValueError(f"template {template!r} is missing the param(s): {', '.join(missing)}")
    values: dict[str, str] = {}
    for key in declared:
        raw = str(params[key])
        if key in LABEL_VALUES:
            values[key] = catalog.label(key, raw)
        elif key == TEMPLATE_REFERENCE:
            values[key] = catalog.short_title(raw)
        else:
            values[key] = raw
    return values


def render(template: str, language: str, params: Mapping[str, str], *, name: str, links: Links) -> Rendered:
    """One message. KeyError for an unknown template, ValueError naming any missing param."""
    frame = _Frame.of(language, name)
    values = _values(template, params, frame.catalog)
    texts = frame.catalog.templates[template]
    subject = fill.plain(texts.subject, values)
    footer_text, footer_html = frame.footer(links)
    parts = frame.layout(
        "email",
        subject=subject,
        text={"body": frame.text(texts.body, **values), **footer_text},
        html={"body": frame.html(texts.body, **values), **footer_html},
    )
    return frame.rendered(subject, parts, frame.sms(fill.plain(texts.sms, values)))


def render_digest(
    language: str, *, name: str, period: str, items: Sequence[DigestItem], links: Links
) -> Rendered:
    """Several messages as one: each item's subject and date, oldest first."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {sorted(PERIODS)}, not {period!r}")
    if not items:
        raise ValueError("a digest needs at least one item")
    frame = _Frame.of(language, name)
    digest = frame.catalog.digest
    count = {"count": str(len(items))}
    if len(items) == 1:
        subject = digest[f"subject_{period}_one"]
    else:
        subject = fill.plain(digest[f"subject_{period}"], count)
    text_lines: list[str] = []
    html_lines: list[Markup] = []
    for item in sorted(items, key=lambda i: i.at):
        values = _values(item.template, item.params, frame.catalog)
        pattern = frame.catalog.templates[item.template].subject
        date = item.at.date().isoformat()
        text_lines.append(frame.text(digest["line"], subject=frame.text(pattern, **values), date=date))
        html_lines.append(frame.html(digest["line"], subject=frame.html(pattern, **values), date=date))
    intro = digest[f"intro_{period}"]
    footer_text, footer_html = frame.footer(links)
    parts = frame.layout(
        "digest",
        subject=subject,
        text={"intro": intro, "lines": text_lines, **footer_text},
        html={"intro": intro, "lines": html_lines, **footer_html},
    )
    return frame.rendered(subject, parts, frame.sms(fill.plain(digest[f"sms_{period}"], count)))


def render_confirmation(language: str, *, name: str, what: str, confirm_url: str) -> Rendered:
    """The double opt-in request: no unsubscribe link, since nothing is subscribed yet."""
    frame = _Frame.of(language, name)
    texts = frame.catalog.confirmation
    subject = fill.plain(texts["subject"], {"what": what})
    parts = frame.layout(
        "confirmation",
        subject=subject,
        text={
            "body": frame.text(texts["body"], what=what),
            "action": frame.link_line(texts["action"], confirm_url),
            "ignore": texts["ignore"],
        },
        html={
            "body": frame.html(texts["body"], what=what),
            "action": texts["action"],
            "confirm_url": confirm_url,
            "ignore": texts["ignore"],
        },
    )
    return frame.rendered(
        subject, parts, frame.sms(fill.plain(texts["sms"], {"what": what, "url": confirm_url}))
    )

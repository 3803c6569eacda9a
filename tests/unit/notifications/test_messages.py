"""The message catalogs and layouts: every template in every language, placeholders that match the
declared params exactly, escaping, right-to-left marks, digests and confirmations.

The catalogs are read here straight from the TOML files, so these checks do not depend on the
package's own loader.
"""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from string import Formatter
from typing import Any

import pytest

from services.notifications import messages
from services.notifications.messages import (
    LANGUAGES,
    TEMPLATES,
    DigestItem,
    Links,
    language_of,
    render,
    render_confirmation,
    render_digest,
)
from services.notifications.messages.spec import LABEL_VALUES

CATALOG_DIR = Path(messages.__file__).with_name("catalog")
CATALOGS: dict[str, dict[str, Any]] = {
    lang: tomllib.loads((CATALOG_DIR / f"{lang}.toml").read_text("utf-8")) for lang in LANGUAGES
}

RLM, FSI, PDI = "\u200f", "\u2068", "\u2069"
BIDI_MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")

LINKS = Links(
    unsubscribe_url="https://sharaka.example/u/tok?l=en&x=1",
    preferences_url="https://sharaka.example/preferences",
)

#: A plausible value for every param of every template (codes are valid codes).
SAMPLE: dict[str, str] = {
    "plan_title": "Open Data Plan 2025",
    "submitted_on": "2025-03-01",
    "review_kind": "midterm_review",
    "due_date": "2025-06-30",
    "comments_until": "2025-04-15",
    "url": "https://sharaka.example/r/42",
    "days_left": "5",
    "round_title": "Round 2",
    "opens_on": "2025-04-01",
    "closes_on": "2025-04-30",
    "notice_days": "5",
    "required_days": "14",
    "closed_on": "2025-04-30",
    "submissions": "12",
    "comments": "40",
    "decision": "partly_accepted",
    "input_kind": "comment",
    "milestone_number": "3.2",
    "end_date": "2025-02-28",
    "member_name": "Morocco",
    "since": "2024-08-01",
    "due_on": "2025-02-01",
    "period_end": "2025-12-31",
    "updates_in_period": "1",
    "failed_template": "consultation_opened",
    "channel": "sms",
    "attempts": "8",
}

#: The fields each shared text may use: exactly what the layouts and renderer supply.
SUPPLIED: dict[str, dict[str, frozenset[str]]] = {
    "common": {
        "greeting_named": frozenset({"name"}),
        "greeting": frozenset(),
        "signature": frozenset(),
        "preferences": frozenset(),
        "unsubscribe": frozenset(),
        "link_line": frozenset({"label", "url"}),
        "sms": frozenset({"message"}),
    },
    "digest": {
        "subject_daily": frozenset({"count"}),
        "subject_daily_one": frozenset(),
        "subject_weekly": frozenset({"count"}),
        "subject_weekly_one": frozenset(),
        "intro_daily": frozenset(),
        "intro_weekly": frozenset(),
        "line": frozenset({"subject", "date"}),
        "sms_daily": frozenset({"count"}),
        "sms_weekly": frozenset({"count"}),
    },
    "confirmation": {
        "subject": frozenset({"what"}),
        "body": frozenset({"what"}),
        "action": frozenset(),
        "ignore": frozenset(),
        "sms": frozenset({"what", "url"}),
    },
}

EVERY = [(t, lang) for t in TEMPLATES for lang in LANGUAGES]


def _fields(pattern: str) -> frozenset[str]:
    names = set()
    for _, name, spec, conv in Formatter().parse(pattern):
        if name is not None:
            # Only plain {name}: no attribute access, indexing, conversion or format spec in a catalog.
            assert name.isidentifier() and not spec and conv is None, pattern
            names.add(name)
    return frozenset(names)


def _leaves(doc: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if isinstance(value, dict):
            out.update(_leaves(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _params(template: str, **overrides: str) -> dict[str, str]:
    return {**{p: SAMPLE[p] for p in TEMPLATES[template]}, **overrides}


# --- the catalogs ------------------------------------------------------------------------------


def test_the_public_api_is_as_agreed() -> None:
    assert LANGUAGES == ("ar", "en", "fr", "es")
    assert len(TEMPLATES) == 19
    assert all(isinstance(p, frozenset) for p in TEMPLATES.values())
    assert set(messages.__all__) >= {
        "LANGUAGES", "TEMPLATES", "Links", "Rendered", "DigestItem",
        "language_of", "render", "render_digest", "render_confirmation",
    }  # fmt: skip


def test_every_param_of_every_template_has_a_sample() -> None:
    assert set().union(*TEMPLATES.values()) == set(SAMPLE)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_catalog_has_exactly_the_keys_of_the_english_one(lang: str) -> None:
    theirs, ours = _leaves(CATALOGS[lang]), _leaves(CATALOGS["en"])
    assert sorted(theirs.keys() - ours.keys()) == [], "keys English does not have"
    assert sorted(ours.keys() - theirs.keys()) == [], "missing translations"
    assert all(isinstance(v, str) and v.strip() for v in theirs.values())


def test_the_catalogs_cover_every_template_and_only_those() -> None:
    for lang, doc in CATALOGS.items():
        assert set(doc["templates"]) == set(TEMPLATES), lang
        for name, texts in doc["templates"].items():
            assert set(texts) == {"short", "subject", "body", "sms"}, (lang, name)


@pytest.mark.parametrize(("template", "lang"), EVERY)
def test_placeholders_are_exactly_the_declared_params(template: str, lang: str) -> None:
    texts = CATALOGS[lang]["templates"][template]
    subject, body, sms = (_fields(texts[k]) for k in ("subject", "body", "sms"))
    declared = TEMPLATES[template]
    assert subject | body | sms == declared, "a placeholder is undeclared, or a param is unused"
    assert declared <= subject | body, "each param must be visible in the e-mail, not only the SMS"
    assert _fields(texts["short"]) == frozenset(), "the short title is used without params"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_shared_texts_use_exactly_the_fields_the_layouts_supply(lang: str) -> None:
    for section, expected in SUPPLIED.items():
        texts = CATALOGS[lang][section]
        assert set(texts) == set(expected), (section, "keys")
        for key, fields in expected.items():
            assert _fields(texts[key]) == fields, (section, key)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_code_has_a_label_and_labels_have_no_placeholders(lang: str) -> None:
    labels = CATALOGS[lang]["labels"]
    assert set(labels) == set(LABEL_VALUES)
    for table, codes in LABEL_VALUES.items():
        assert set(labels[table]) == codes, table
        assert all(_fields(text) == frozenset() for text in labels[table].values())


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_sms_starts_with_the_service_name(lang: str) -> None:
    prefix = "شراكة:" if lang == "ar" else "Sharaka:"
    assert CATALOGS[lang]["common"]["sms"].startswith(prefix)


# --- rendering each template --------------------------------------------------------------------


@pytest.mark.parametrize(("template", "lang"), EVERY)
def test_every_template_renders_in_every_language(template: str, lang: str) -> None:
    r = render(template, lang, _params(template), name="Amina", links=LINKS)
    direction = "rtl" if lang == "ar" else "ltr"
    assert (r.language, r.direction) == (lang, direction)
    assert all(part.strip() for part in (r.subject, r.text, r.html, r.sms))
    assert "\n" not in r.subject
    assert r.html.startswith("<!DOCTYPE html>")
    assert f'<html lang="{lang}" dir="{direction}">' in r.html
    assert '<meta charset="utf-8">' in r.html
    assert "Amina" in r.text and "Amina" in r.html
    # The footer: both links as anchors in HTML (URL escaped), written out in text.
    assert 'href="https://sharaka.example/u/tok?l=en&amp;x=1"' in r.html
    assert 'href="https://sharaka.example/preferences"' in r.html
    assert LINKS.unsubscribe_url in r.text and LINKS.preferences_url in r.text
    assert "{" not in r.text + r.html + r.sms + r.subject, "an unfilled placeholder"
    # No link in an SMS but the message's own.
    assert "sharaka.example/u/" not in r.sms and "preferences" not in r.sms
    if "url" in TEMPLATES[template]:
        assert SAMPLE["url"] in r.sms
        assert f'<a href="{SAMPLE["url"]}">' in r.html
    else:
        assert "http" not in r.sms


@pytest.mark.parametrize(("template", "lang"), EVERY)
def test_the_sms_is_short(template: str, lang: str) -> None:
    r = render(template, lang, _params(template), name="Amina", links=LINKS)
    assert r.sms.startswith("شراكة:" if lang == "ar" else "Sharaka:")
    assert "\n" not in r.sms
    if "url" not in TEMPLATES[template]:
        # About one SMS with these sample values (70 UCS-2 characters, 140 for Latin scripts).
        assert len(r.sms) <= (75 if lang == "ar" else 140), r.sms


@pytest.mark.parametrize("lang", LANGUAGES)
def test_codes_are_shown_through_the_language_labels(lang: str) -> None:
    labels = CATALOGS[lang]["labels"]
    r = render("review_scheduled", lang, _params("review_scheduled"), name="", links=LINKS)
    assert labels["review_kind"]["midterm_review"] in r.text
    assert "midterm_review" not in r.text + r.html + r.sms + r.subject

    r = render("input_flagged", lang, _params("input_flagged"), name="", links=LINKS)
    assert labels["input_kind"]["comment"] in r.text

    r = render("response_received", lang, _params("response_received"), name="", links=LINKS)
    assert labels["decision"]["partly_accepted"] in r.text
    assert "partly_accepted" not in r.text

    r = render("delivery_failed", lang, _params("delivery_failed", channel="email"), name="", links=LINKS)
    short = CATALOGS[lang]["templates"]["consultation_opened"]["short"]
    assert short in r.subject and short in r.text and short in r.sms
    assert labels["channel"]["email"] in r.text
    assert "consultation_opened" not in r.text


def test_an_unknown_decision_or_template_name_is_shown_raw() -> None:
    r = render(
        "response_received", "fr", _params("response_received", decision="deferred"), name="", links=LINKS
    )
    assert "deferred" in r.text
    r = render(
        "delivery_failed", "en", _params("delivery_failed", failed_template="legacy_x"), name="", links=LINKS
    )
    assert "legacy_x" in r.subject


def test_a_greeting_without_a_name_has_no_hole() -> None:
    for lang in LANGUAGES:
        r = render("plan_submitted", lang, _params("plan_submitted"), name="  ", links=LINKS)
        first_line = r.text.split("\n", 1)[0].lstrip(RLM)
        assert first_line == CATALOGS[lang]["common"]["greeting"]
    named = render("plan_submitted", "en", _params("plan_submitted"), name="Amina", links=LINKS)
    assert named.text.startswith("Dear Amina,\n")


def test_extra_params_are_ignored() -> None:
    r = render("plan_submitted", "en", _params("plan_submitted", unrelated="zzz"), name="", links=LINKS)
    assert "zzz" not in r.text + r.html + r.sms


# --- errors and fallback ------------------------------------------------------------------------


def test_an_unknown_template_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="no_such_template"):
        render("no_such_template", "en", {}, name="", links=LINKS)


@pytest.mark.parametrize("missing", sorted(TEMPLATES["consultation_closed"]))
def test_a_missing_param_is_a_value_error_naming_it(missing: str) -> None:
    params = _params("consultation_closed")
    del params[missing]
    with pytest.raises(ValueError, match=missing):
        render("consultation_closed", "fr", params, name="", links=LINKS)


@pytest.mark.parametrize(
    ("requested", "expected"),
    [(None, "en"), ("", "en"), ("de", "en"), ("xx-YY", "en"), ("en", "en"), ("fr", "fr"),
     ("fr-CA", "fr"), ("es_419", "es"), ("AR", "ar"), (" ar-EG ", "ar")],
)  # fmt: skip
def test_language_of(requested: str | None, expected: str) -> None:
    assert language_of(requested) == expected


def test_an_unknown_language_falls_back_to_english() -> None:
    r = render("plan_submitted", "de", _params("plan_submitted"), name="", links=LINKS)
    english = render("plan_submitted", "en", _params("plan_submitted"), name="", links=LINKS)
    assert (r.language, r.direction) == ("en", "ltr")
    assert r == english


# --- escaping and direction -------------------------------------------------------------------

SCRIPT = "<script>alert('x')</script> & \"q\""


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_param_is_escaped_in_html_and_verbatim_in_text_and_sms(lang: str) -> None:
    r = render(
        "consultation_opened",
        lang,
        _params("consultation_opened", round_title=SCRIPT),
        name=SCRIPT,
        links=LINKS,
    )
    assert "<script>" not in r.html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &#34;q&#34;" in r.html
    assert SCRIPT in r.text and SCRIPT in r.sms
    assert "&lt;" not in r.text + r.sms


def test_catalog_text_is_escaped_too() -> None:
    # French apostrophes are plain text: in HTML they are escaped like any value.
    r = render("consultation_closing_soon", "fr", _params("consultation_closing_soon"), name="", links=LINKS)
    assert "Il est encore temps d&#39;y participer." in r.html
    assert "Il est encore temps d'y participer." in r.text


def test_a_url_param_is_a_link_only_for_http() -> None:
    r = render(
        "review_published",
        "en",
        _params("review_published", url='https://e.example/a?b=1&c="2"'),
        name="",
        links=LINKS,
    )
    assert '<a href="https://e.example/a?b=1&amp;c=&#34;2&#34;">' in r.html
    r = render(
        "review_published", "en", _params("review_published", url="javascript:alert(1)"), name="", links=LINKS
    )
    assert "javascript:alert(1)" in r.html
    assert 'href="javascript:' not in r.html


def test_the_arabic_text_part_marks_direction() -> None:
    r = render("review_draft_open", "ar", _params("review_draft_open"), name="Amina", links=LINKS)
    paragraphs = [line for line in r.text.split("\n") if line.strip()]
    assert paragraphs and all(line.startswith(RLM) for line in paragraphs)
    for value in (
        SAMPLE["plan_title"],
        SAMPLE["url"],
        SAMPLE["comments_until"],
        "Amina",
        LINKS.unsubscribe_url,
    ):
        assert f"{FSI}{value}{PDI}" in r.text, value
    assert r.text.count(FSI) == r.text.count(PDI)
    # Never in HTML (dir="rtl" and <bdi> do that there), nor in the subject or SMS.
    assert not BIDI_MARKS.search(r.html + r.subject + r.sms)
    assert f"<bdi>{SAMPLE['plan_title']}</bdi>" in r.html


@pytest.mark.parametrize(("template", "lang"), [(t, lang) for t, lang in EVERY if lang != "ar"])
def test_left_to_right_languages_have_no_direction_marks(template: str, lang: str) -> None:
    r = render(template, lang, _params(template), name="Amina", links=LINKS)
    assert not BIDI_MARKS.search(r.subject + r.text + r.html + r.sms)
    assert "<bdi>" not in r.html


# --- digest -----------------------------------------------------------------------------------


def _items() -> list[DigestItem]:
    def at(day: int) -> datetime:
        return datetime(2025, 3, day, 9, 30, tzinfo=UTC)

    # Given out of order on purpose: the digest lists them by time.
    return [
        DigestItem("consultation_opened", _params("consultation_opened"), at(3)),
        DigestItem("plan_submitted", _params("plan_submitted", plan_title="First <plan>"), at(1)),
        DigestItem("review_published", _params("review_published"), at(2)),
    ]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("period", ["daily", "weekly"])
def test_a_digest_lists_its_items_in_order(lang: str, period: str) -> None:
    d = render_digest(lang, name="Amina", period=period, items=_items(), links=LINKS)
    assert (d.language, d.direction) == (lang, "rtl" if lang == "ar" else "ltr")
    assert "3" in d.subject and "3" in d.sms
    assert d.subject == CATALOGS[lang]["digest"][f"subject_{period}"].format(count=3)
    ordered = sorted(_items(), key=lambda i: i.at)
    subjects = [render(i.template, lang, i.params, name="", links=LINKS).subject for i in ordered]
    clean = BIDI_MARKS.sub("", d.text)
    positions = [clean.index(s) for s in subjects]
    assert positions == sorted(positions)
    for item in ordered:
        assert item.at.date().isoformat() in clean
    assert d.html.count("<li") == 3
    assert "First &lt;plan&gt;" in d.html and "First <plan>" in d.text
    assert LINKS.unsubscribe_url in clean and 'href="https://sharaka.example/preferences"' in d.html
    assert f'<html lang="{lang}" dir="{d.direction}">' in d.html


def test_a_digest_of_one_item_says_so() -> None:
    d = render_digest("en", name="", period="daily", items=_items()[:1], links=LINKS)
    assert d.subject == "Your daily Sharaka digest (1 update)"
    d = render_digest("en", name="", period="weekly", items=_items(), links=LINKS)
    assert d.subject == "Your weekly Sharaka digest (3 updates)"


def test_a_digest_checks_its_period_and_items() -> None:
    with pytest.raises(ValueError, match="monthly"):
        render_digest("en", name="", period="monthly", items=_items(), links=LINKS)
    with pytest.raises(ValueError, match="at least one"):
        render_digest("en", name="", period="daily", items=[], links=LINKS)
    broken = [DigestItem("plan_submitted", {"plan_title": "P"}, datetime(2025, 3, 1, tzinfo=UTC))]
    with pytest.raises(ValueError, match="submitted_on"):
        render_digest("en", name="", period="daily", items=broken, links=LINKS)
    with pytest.raises(KeyError):
        render_digest(
            "en", name="", period="daily", items=[DigestItem("nope", {}, datetime.now(UTC))], links=LINKS
        )


# --- confirmation -------------------------------------------------------------------------------

CONFIRM = "https://sharaka.example/confirm?t=abc&s=1"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_confirmation_asks_to_confirm_with_the_link(lang: str) -> None:
    c = render_confirmation(lang, name="Amina", what="Open Data Plan 2025", confirm_url=CONFIRM)
    assert (c.language, c.direction) == (lang, "rtl" if lang == "ar" else "ltr")
    texts = CATALOGS[lang]["confirmation"]
    assert "Open Data Plan 2025" in c.subject and "Open Data Plan 2025" in c.text
    assert CONFIRM in c.text and CONFIRM in c.sms
    assert 'href="https://sharaka.example/confirm?t=abc&amp;s=1"' in c.html
    assert texts["ignore"] in c.text
    assert f'<html lang="{lang}" dir="{c.direction}">' in c.html
    # Not subscribed yet: nothing to unsubscribe from.
    unsubscribe = CATALOGS[lang]["common"]["unsubscribe"]
    assert unsubscribe not in c.text and unsubscribe not in c.html


def test_a_confirmation_escapes_what_it_confirms() -> None:
    c = render_confirmation("en", name="", what=SCRIPT, confirm_url=CONFIRM)
    assert "<script>" not in c.html and SCRIPT in c.text
    assert c.text.startswith("Hello,\n")

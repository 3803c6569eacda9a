"""The translated texts, read once at import from ``catalog/<language>.toml``.

Translators edit TOML, not Python. The shape is checked here, at import, so a catalog with a
missing key stops the service from starting instead of failing on the one message that needs it;
whether the ``{placeholders}`` match the params is the unit test's job.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from services.notifications.messages.languages import FALLBACK, LANGUAGES
from services.notifications.messages.spec import TEMPLATES

CATALOG_DIR = Path(__file__).with_name("catalog")
SECTIONS = ("common", "digest", "confirmation")


@dataclass(frozen=True, slots=True)
class Texts:
    """One template in one language."""

    short: str  # its title, as named in other messages (delivery_failed, digests)
    subject: str
    body: str
    sms: str


@dataclass(frozen=True, slots=True)
class Catalog:
    language: str
    common: Mapping[str, str]
    digest: Mapping[str, str]
    confirmation: Mapping[str, str]
    labels: Mapping[str, Mapping[str, str]]
    templates: Mapping[str, Texts]

    def label(self, table: str, code: str) -> str:
        """A code's label, or the code itself: an unknown value must not stop a notification."""
        return self.labels.get(table, {}).get(code, code)

    def short_title(self, template: str) -> str:
        texts = self.templates.get(template)
        return texts.short if texts else template


class CatalogError(Exception):
    pass


def _leaves(doc: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in doc.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_leaves(value, f"{path}."))
        else:
            out[path] = value
    return out


def _strings(table: Any) -> Mapping[str, str]:
    return MappingProxyType({str(k): str(v) for k, v in table.items()})


def _build(language: str, doc: dict[str, Any]) -> Catalog:
    return Catalog(
        language=language,
        common=_strings(doc["common"]),
        digest=_strings(doc["digest"]),
        confirmation=_strings(doc["confirmation"]),
        labels=MappingProxyType({table: _strings(codes) for table, codes in doc["labels"].items()}),
        templates=MappingProxyType({name: Texts(**t) for name, t in doc["templates"].items()}),
    )


def _load() -> Mapping[str, Catalog]:
    docs = {lang: tomllib.loads((CATALOG_DIR / f"{lang}.toml").read_text("utf-8")) for lang in LANGUAGES}
    reference = docs[FALLBACK]
    if set(reference.get("templates", {})) != set(TEMPLATES):
        raise CatalogError(f"{FALLBACK}.toml must have exactly the templates of spec.TEMPLATES")
    expected = _leaves(reference)
    for lang, doc in docs.items():
        leaves = _leaves(doc)
        if leaves.keys() != expected.keys():
            diff = sorted(leaves.keys() ^ expected.keys())
            raise CatalogError(f"{lang}.toml differs from {FALLBACK}.toml in the keys {diff}")
        not_text = sorted(k for k, v in leaves.items() if not isinstance(v, str))
        if not_text:
            raise CatalogError(f"{lang}.toml has non-string values at {not_text}")
    return MappingProxyType({lang: _build(lang, doc) for lang, doc in docs.items()})


CATALOGS: Mapping[str, Catalog] = _load()

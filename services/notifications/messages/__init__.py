"""Every message the notifications service sends, in Arabic, English, French and Spanish.

Texts live in ``catalog/<language>.toml`` (one file per translator), layouts in ``layouts/``
(Jinja2); this package fills one with the other. Callers give raw values (codes such as
``review_kind="midterm_review"`` included) and get back subject, text, HTML and SMS at once.
"""

from services.notifications.messages.languages import LANGUAGES, language_of
from services.notifications.messages.model import DigestItem, Links, Rendered
from services.notifications.messages.render import render, render_confirmation, render_digest
from services.notifications.messages.spec import TEMPLATES

__all__ = [
    "LANGUAGES",
    "TEMPLATES",
    "DigestItem",
    "Links",
    "Rendered",
    "language_of",
    "render",
    "render_confirmation",
    "render_digest",
]

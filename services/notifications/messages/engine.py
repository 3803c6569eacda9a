"""The Jinja2 environment for the layouts in ``layouts/``: HTML autoescaped, text verbatim.

Every variable a layout uses must be given (StrictUndefined): a renamed variable fails the test
instead of sending a message with a silent hole in it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("layouts")),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=True, default=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)


def render_layout(name: str, **context: Any) -> str:
    return _ENV.get_template(name).render(**context)

"""The benchmark commands name a missing load generator instead of stopping with a traceback."""

from __future__ import annotations

import pytest

from bench import tools


def test_a_tool_on_path_is_found() -> None:
    assert tools.ensure("sh").endswith("/sh")


def test_a_missing_tool_that_cannot_be_installed_is_named_with_what_to_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(tools.PACKAGES, "wrk-not-here", "")
    monkeypatch.setitem(tools.HOW, "wrk-not-here", "install it with `apt-get install wrk-not-here`")
    with pytest.raises(tools.Missing, match=r"wrk-not-here is needed .*apt-get install wrk-not-here"):
        tools.ensure("wrk-not-here")


def test_without_apt_or_rights_nothing_is_attempted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tools, "_apt_argv", lambda: None)
    monkeypatch.setattr(tools.shutil, "which", lambda _tool: None)
    with pytest.raises(tools.Missing, match="sudo apt-get install wrk"):
        tools.ensure("wrk")

"""The import command's progress bar: one line on stderr, redrawn in place, ended once."""

from __future__ import annotations

import io

from services.plans.imports.cli import ProgressBar
from services.plans.imports.report import progress_counter


def test_the_bar_redraws_one_line_and_ends_it_once() -> None:
    out = io.StringIO()
    bar = ProgressBar(out, width=10, every_s=0.0)
    bar(0, 200)
    bar(100, 200)
    bar(200, 200)
    bar.close()
    bar.close()
    text = out.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")
    frames = text.strip("\n").split("\r")[1:]
    assert frames == [
        "[----------] 0/200 rows   0%",
        "[#####-----] 100/200 rows  50%",
        "[##########] 200/200 rows 100%",
    ]


def test_the_bar_is_drawn_at_most_so_often_but_always_at_the_end() -> None:
    out = io.StringIO()
    bar = ProgressBar(out, width=4, every_s=3600.0)
    for done in range(0, 1001, 100):
        bar(done, 1000)
    assert out.getvalue().count("\r") == 2  # the first and the last
    assert "1,000/1,000" in out.getvalue()


def test_an_empty_file_is_done_and_nothing_is_drawn_when_nothing_was_told() -> None:
    out = io.StringIO()
    ProgressBar(out).close()
    assert out.getvalue() == ""
    bar = ProgressBar(out, width=2)
    bar(0, 0)
    assert "0/0 rows 100%" in out.getvalue()


def test_the_counter_tells_increasing_counts() -> None:
    seen: list[tuple[int, int]] = []
    add = progress_counter(lambda d, t: seen.append((d, t)), 3, 10)
    add(4)
    add(3)
    assert seen == [(3, 10), (7, 10), (10, 10)]
    progress_counter(None, 0, 5)(5)  # no callback: nothing to tell

"""Findings in memory."""

from __future__ import annotations


class FakeFindings:
    pass

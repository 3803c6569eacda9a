"""Assessments in memory."""

from __future__ import annotations


class FakeAssessments:
    pass

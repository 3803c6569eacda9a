"""The progress import's lookup of a batch's milestones, against the in-memory lookups: a row
names its milestone by id, or by its commitment's spreadsheet key and its number, and a row
whose milestone does not exist finds nothing."""

from __future__ import annotations

from uuid import uuid4

from services.plans.imports import M_ID, M_KEY, M_NUMBER, M_STATUS, parse_progress
from services.plans.imports.progress_sheet import _milestones_of
from services.plans.use_cases import commitments
from tests.fakes.plans import FakePlansUnitOfWork
from tests.unit.plans.conftest import STAFF, milestone, plan


async def test_a_batch_finds_its_milestones_by_id_or_by_commitment_key() -> None:
    uow = FakePlansUnitOfWork()
    p = await plan(uow)
    c = await commitments.add_commitment(
        uow,
        commitments.AddCommitment(
            STAFF, p.id, {"texts": {"title": {"en": "Open budgets"}}, "original_language": "en"},
            source_key="KE0001",
        ),
    )  # fmt: skip
    first = await milestone(uow, c.id)
    second = await milestone(uow, c.id)
    rows = [
        parse_progress(2, {M_ID: str(first.id), M_STATUS: "completed"}),
        parse_progress(3, {M_KEY: "KE0001", M_NUMBER: "2", M_STATUS: "completed"}),
        parse_progress(4, {M_KEY: "KE0001", M_NUMBER: "3", M_STATUS: "completed"}),
        parse_progress(5, {M_KEY: "KE9999", M_NUMBER: "1", M_STATUS: "completed"}),
        parse_progress(6, {M_ID: str(uuid4()), M_STATUS: "completed"}),
    ]
    assert await _milestones_of(uow.imports, rows) == {first.id: first.id, ("KE0001", 2): second.id}

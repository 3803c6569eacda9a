"""Reasoned responses (standard 4): the government answers each input, alone or in a cluster, with
a decision and a rationale; the consolidated "comments and responses" table is frozen and
announced so it lands in the plan's document repository.

An input is answered once, so coverage never counts an input twice; a cluster is answered whole or
not at all.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from services.consultation.domain.common import redact_contacts
from services.consultation.domain.rounds import Round
from shared.errors import Invalid, RuleViolation
from shared.events.base import Event
from shared.events.consultation import Decision, ResponsePublished, ResponseTablePublished


def answerable(input_ids: Iterable[UUID]) -> list[UUID]:
    """The same id twice is one input; sorted, so two overlapping clusters lock their inputs in
    the same order and one waits for the other instead of deadlocking."""
    return sorted(set(input_ids))


def check_inputs_known(ids: list[UUID], found: Collection[UUID]) -> None:
    unknown = [str(i) for i in ids if i not in found]
    if unknown:
        raise Invalid.many(
            f"the round has no submission or comment {', '.join(unknown)}",
            [("input_ids", f"unknown in this round: {', '.join(unknown)}")],
        )


def unknown_merge_target() -> Invalid:
    return Invalid("merged_into_commitment_id", "the plan has no such commitment")


def check_not_answered(already: Collection[UUID]) -> None:
    """Each input is answered once: a cluster with an answered input is refused whole."""
    if already:
        answered = sorted(str(i) for i in already)
        raise RuleViolation("already_answered", f"already answered: {', '.join(answered)}")


@dataclass(slots=True)
class Response:
    id: UUID
    round_id: UUID
    plan_id: UUID
    input_ids: list[UUID]
    decision: Decision
    rationale: str
    merged_into_commitment_id: UUID | None
    published_at: datetime
    created_by: str

    @classmethod
    def answer(
        cls,
        rnd: Round,
        input_ids: list[UUID],
        decision: Decision,
        rationale: str,
        merged_into_commitment_id: UUID | None,
        *,
        now: datetime,
        by: str,
    ) -> tuple[Response, list[Event]]:
        # Published as written, on the public topic too: a contact pasted in is masked once, here.
        rationale = redact_contacts(rationale)
        response = cls(
            uuid4(), rnd.id, rnd.plan_id, input_ids, decision, rationale, merged_into_commitment_id, now, by
        )
        event = ResponsePublished(
            response_id=response.id,
            round_id=rnd.id,
            plan_id=rnd.plan_id,
            input_ids=input_ids,
            decision=decision,
            rationale=rationale,
            merged_into_commitment_id=merged_into_commitment_id,
            published_at=now,
        )
        return response, [event]


@dataclass(slots=True)
class ResponseTable:
    """The table as published: the repository's document does not change under its readers."""

    id: UUID
    round_id: UUID
    title: str
    rows: list[dict[str, Any]]
    inputs: int
    answered: int
    published_at: datetime
    created_by: str

    @classmethod
    def publish(
        cls,
        rnd: Round,
        rows: list[dict[str, Any]],
        title: str | None,
        base_url: str,
        *,
        now: datetime,
        by: str,
    ) -> tuple[ResponseTable, ResponseTablePublished]:
        """Freeze the table as it is now; later answers need a new publication."""
        answered = sum(1 for r in rows if r["decision"] is not None)
        table = cls(
            uuid4(),
            rnd.id,
            redact_contacts(title) if title else f"Comments and responses: {rnd.title}",
            rows,
            len(rows),
            answered,
            now,
            by,
        )
        base = base_url.rstrip("/")
        event = ResponseTablePublished(
            table_id=table.id,
            round_id=rnd.id,
            plan_id=rnd.plan_id,
            member_id=rnd.member_id,
            title=table.title,
            csv_url=f"{base}/v1/response-tables/{table.id}.csv",
            json_url=f"{base}/v1/response-tables/{table.id}.json",
            inputs=table.inputs,
            answered=answered,
            published_at=now,
        )
        return table, event

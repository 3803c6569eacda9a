"""Commitments: the state machine, the template's checks and the public history's diff, applied
by :class:`Commitment`. Their milestones are in :mod:`.milestones`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from shared.errors import Invalid, RuleViolation
from shared.events.base import Event
from shared.events.plans import (
    CommitmentAdded,
    CommitmentAdopted,
    CommitmentSnapshot,
    CommitmentState,
    CommitmentStateChanged,
    CommitmentUpdated,
    CommitmentWithdrawn,
    OgpValues,
)

#: Column name → value, for the columns a change sets (see :data:`WRITABLE`).
Columns = dict[str, Any]
#: What the public history keeps of an update: column → {"from": …, "to": …} (JSON values).
Changes = dict[str, Any]

#: Template texts besides the title, each a {language: text} map.
TEXT_FIELDS = ("problem", "baseline", "status_quo", "objective", "how_it_solves", "ambition")

#: Columns a commitment update may set (the API's field names map onto them).
WRITABLE = (
    "title",
    "texts",
    "original_language",
    "start_date",
    "end_date",
    "lead_agency",
    "responsible_person",
    "supporting_government",
    "supporting_other",
    "value_access_to_information",
    "value_civic_participation",
    "value_public_accountability",
    "value_technology_innovation",
    "policy_areas",
    "budget_amount",
    "budget_currency",
    "sdg_targets",
    "other_plan_links",
)
#: Besides :data:`WRITABLE`, what a staff correction (the import) may set: the IRM's findings as
#: OGP's database has them, and the cells of its columns the import does not map.
CORRECTABLE = (*WRITABLE, "irm", "source_data")

COMMITMENT_TRANSITIONS: dict[CommitmentState, frozenset[CommitmentState]] = {
    CommitmentState.DRAFTED: frozenset(
        {CommitmentState.IN_CONSULTATION, CommitmentState.ADOPTED, CommitmentState.WITHDRAWN}
    ),
    CommitmentState.IN_CONSULTATION: frozenset({CommitmentState.ADOPTED, CommitmentState.WITHDRAWN}),
    CommitmentState.ADOPTED: frozenset({CommitmentState.IMPLEMENTING, CommitmentState.WITHDRAWN}),
    CommitmentState.IMPLEMENTING: frozenset({CommitmentState.ENDED, CommitmentState.WITHDRAWN}),
    CommitmentState.ENDED: frozenset(),
    CommitmentState.WITHDRAWN: frozenset(),
}


def check_commitment_transition(current: CommitmentState, target: CommitmentState) -> None:
    if target not in COMMITMENT_TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in COMMITMENT_TRANSITIONS[current])) or "none"
        raise RuleViolation(
            "commitment.transition_not_allowed",
            f"a commitment in state {current.value} cannot move to {target.value} (allowed: {allowed})",
        )


def check_values(access: bool, participation: bool, accountability: bool, technology: bool) -> None:
    """OGP counts technology and innovation only on top of one of the three core values."""
    if technology and not (access or participation or accountability):
        raise RuleViolation(
            "commitment.technology_alone",
            "technology and innovation is relevant only together with access to information, "
            "civic participation or public accountability",
            "values.technology_innovation",
        )


def check_original_language(original: str, titles: Iterable[str]) -> None:
    if original not in set(titles):
        raise RuleViolation(
            "commitment.original_missing",
            f"the title must be given in the original language ({original})",
            "title",
        )


def check_dates(start: date | None, end: date | None) -> None:
    if start and end and end < start:
        raise Invalid("end_date", "end_date must not be before start_date")


def check_fields(merged: Mapping[str, Any]) -> None:
    """The template's rules on a commitment's columns (the stored ones overlaid with a change)."""
    check_values(
        bool(merged.get("value_access_to_information")),
        bool(merged.get("value_civic_participation")),
        bool(merged.get("value_public_accountability")),
        bool(merged.get("value_technology_innovation")),
    )
    check_original_language(merged["original_language"], merged["texts"].get("title", {}))
    check_dates(merged.get("start_date"), merged.get("end_date"))


def jsonable(value: Any) -> Any:
    """Comparable, JSON-ready form of a column value (dates, UUIDs, Decimals)."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def diff(current: Mapping[str, Any], desired: Mapping[str, Any]) -> Changes:
    """The columns ``desired`` changes, as the history keeps them."""
    return {
        k: {"from": jsonable(current[k]), "to": jsonable(v)}
        for k, v in desired.items()
        if jsonable(current[k]) != jsonable(v)
    }


def merge_texts(
    current: Mapping[str, Mapping[str, str]], sent: Mapping[str, Mapping[str, str]]
) -> dict[str, dict[str, str]]:
    """Languages and texts not sent are kept."""
    merged = {k: dict(v) for k, v in current.items()}
    for name, by_language in sent.items():
        merged.setdefault(name, {}).update(by_language)
    return merged


#: A new commitment's columns when the request does not give them.
DEFAULTS: Columns = {
    **dict.fromkeys(WRITABLE),
    "supporting_government": [],
    "supporting_other": [],
    "policy_areas": [],
    "sdg_targets": [],
    "other_plan_links": [],
    "value_access_to_information": False,
    "value_civic_participation": False,
    "value_public_accountability": False,
    "value_technology_innovation": False,
}


@dataclass(slots=True)
class Commitment:
    id: UUID
    plan_id: UUID
    member_id: UUID
    number: int
    title: str
    texts: dict[str, dict[str, str]]
    original_language: str
    state: CommitmentState
    start_date: date | None = None
    end_date: date | None = None
    lead_agency: str | None = None
    responsible_person: str | None = None
    supporting_government: list[str] = field(default_factory=list)
    supporting_other: list[str] = field(default_factory=list)
    value_access_to_information: bool = False
    value_civic_participation: bool = False
    value_public_accountability: bool = False
    value_technology_innovation: bool = False
    policy_areas: list[str] = field(default_factory=list)
    budget_amount: float | None = None
    budget_currency: str | None = None
    sdg_targets: list[str] = field(default_factory=list)
    other_plan_links: list[str] = field(default_factory=list)
    progress: float = 0.0
    self_assessment: dict[str, Any] | None = None
    irm: dict[str, Any] = field(default_factory=dict)
    version: int = 1
    created_at: datetime | None = None
    updated_at: datetime | None = None
    source_key: str | None = None
    #: OGP's database's cells of the columns the import does not map, by column name.
    source_data: dict[str, Any] = field(default_factory=dict)

    # --- creation ---------------------------------------------------------------------------

    @classmethod
    def draft(
        cls, *, plan_id: UUID, member_id: UUID, columns: Mapping[str, Any], source_key: str | None = None
    ) -> Commitment:
        """A new commitment from its template columns (``texts`` holds the title); the store
        numbers it within its plan."""
        row: Columns = {**DEFAULTS, **{k: v for k, v in columns.items() if k in WRITABLE}}
        titles = row["texts"]["title"]
        row["title"] = titles.get(row["original_language"]) or next(iter(titles.values()))
        check_fields(row)
        return cls(
            id=uuid4(),
            plan_id=plan_id,
            member_id=member_id,
            number=0,
            state=CommitmentState.DRAFTED,
            source_key=source_key,
            **row,
        )

    def added(self, now: datetime) -> list[Event]:
        return [
            CommitmentAdded(
                plan_id=self.plan_id,
                commitment_id=self.id,
                member_id=self.member_id,
                number=self.number,
                title=self.title,
                added_at=now,
                commitment=self.snapshot(),
            )
        ]

    def created_history(self) -> Changes:
        """What the history keeps of a new commitment: every template column."""
        return {k: jsonable(getattr(self, k)) for k in WRITABLE}

    # --- reading ----------------------------------------------------------------------------

    def columns(self) -> Columns:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def snapshot(self) -> CommitmentSnapshot:
        texts = dict(self.texts)
        title = texts.pop("title", {self.original_language: self.title})
        return CommitmentSnapshot(
            commitment_id=self.id,
            plan_id=self.plan_id,
            member_id=self.member_id,
            number=self.number,
            state=self.state,
            original_language=self.original_language,
            title=title,
            texts=texts,
            start_date=self.start_date,
            end_date=self.end_date,
            lead_agency=self.lead_agency,
            responsible_person=self.responsible_person,
            supporting_government=self.supporting_government,
            supporting_other=self.supporting_other,
            values=OgpValues(
                access_to_information=self.value_access_to_information,
                civic_participation=self.value_civic_participation,
                public_accountability=self.value_public_accountability,
                technology_innovation=self.value_technology_innovation,
            ),
            policy_areas=self.policy_areas,
            budget_amount=float(self.budget_amount) if self.budget_amount is not None else None,
            budget_currency=self.budget_currency,
            sdg_targets=self.sdg_targets,
            other_plan_links=self.other_plan_links,
            progress=float(self.progress),
            version=self.version,
        )

    # --- edits ------------------------------------------------------------------------------

    def check_version(self, expected: int | None) -> None:
        if expected is not None and expected != self.version:
            raise RuleViolation(
                "commitment.version_mismatch", f"the commitment is at version {self.version}, not {expected}"
            )

    def check_editable(self, plan_state_editable: bool, plan_state: str) -> None:
        if not plan_state_editable or self.state in (CommitmentState.WITHDRAWN, CommitmentState.ENDED):
            raise RuleViolation(
                "commitment.frozen", f"a commitment of a plan in state {plan_state} cannot be edited"
            )

    def edit_values(self, sent: Mapping[str, Any]) -> Columns:
        """An edit's columns: texts merged with the stored ones, the title taken from the texts in
        the original language, and the template's rules checked."""
        values = {k: v for k, v in sent.items() if k in WRITABLE}
        if "texts" in values:
            merged = merge_texts(self.texts, values["texts"])
            values["texts"] = merged
            lang = values.get("original_language", self.original_language)
            values["title"] = merged["title"].get(lang) or self.title
        check_fields({**self.columns(), **values})
        return values

    def revise(self, values: Mapping[str, Any], *, by: str, now: datetime) -> tuple[Changes, list[Event]]:
        """Set the columns that differ (the rules are checked on the result); returns what the
        history keeps and the event, or nothing at all when nothing differs."""
        unknown = set(values) - set(CORRECTABLE)
        if unknown:
            raise Invalid(sorted(unknown)[0], "not a column a change may set")
        changes = diff(self.columns(), values)
        if not changes:
            return {}, []
        check_fields({**self.columns(), **values})
        for k in changes:
            setattr(self, k, values[k])
        self.version += 1
        self.updated_at = now
        return changes, [
            CommitmentUpdated(
                plan_id=self.plan_id,
                commitment_id=self.id,
                member_id=self.member_id,
                changed_at=now,
                changed_by=by,
                commitment=self.snapshot(),
                changed_fields=sorted(changes),
            )
        ]

    def transition(
        self, target: CommitmentState, *, by: str, now: datetime, reason: str | None = None
    ) -> tuple[Changes, list[Event]]:
        """One allowed move; returns what the history keeps and the events."""
        current = self.state
        check_commitment_transition(current, target)
        self.state = target
        self.version += 1
        self.updated_at = now
        history: Changes = {"state": {"from": current.value, "to": target.value}}
        if reason:
            history["reason"] = reason
        base: dict[str, Any] = dict(
            plan_id=self.plan_id,
            commitment_id=self.id,
            member_id=self.member_id,
            changed_at=now,
            changed_by=by,
            commitment=self.snapshot(),
        )
        events: list[Event] = [CommitmentStateChanged(from_state=current, to_state=target, **base)]
        if target is CommitmentState.ADOPTED:
            events.append(CommitmentAdopted(**base))
        elif target is CommitmentState.WITHDRAWN:
            events.append(CommitmentWithdrawn(reason=reason or "", **base))
        return history, events


def check_withdrawal_reason(target: CommitmentState, reason: str | None) -> None:
    if target is CommitmentState.WITHDRAWN and not reason:
        raise Invalid("reason", "a withdrawal needs a public reason")

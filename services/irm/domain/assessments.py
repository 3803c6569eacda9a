"""Assessments: the IRM's coding of one commitment in one review, on a versioned scale.

Rules (each a named check):

* ``assessment.product_codes_no_commitment`` (409): a co-creation brief codes no commitment.
* ``assessment.review_closed`` (409): a published or withdrawn review is not coded any more.
* an unknown scale value, or a field the scale version or the product does not code: 422 naming
  the field (``shared.errors.Invalid``, or ``assessment.field_not_in_scale`` /
  ``assessment.field_not_in_product`` with the field).
* ``assessment.not_verifiable`` (409): a commitment coded not verifiable is not assessed further
  (since 2021); coding it not verifiable drops the codes it had.
* ``assessment.completion_change_needs_reason`` (422, field ``completion_reason``): the
  researcher may change the completion pre-filled from plans' data, with a reason.

What each product codes on the current scales: the action plan review codes verifiability
(specificity on irm-2020), relevance, potential for results and promising; the midterm review and
the results report code completion and early results ("did it open government" on irm-2020).
Legacy (legacy-2014) assessments are history: every legacy field may be coded in any product, and
the star is derived by the report year's rule (``shared.scales.legacy_star``).

The pre-filled completion is the IRM's assumption from plans' data: the government's
self-assessment when there is one (``completed`` is ``complete``), else the commitment's weighted
milestone progress: 0 → not started, under 50 → limited, under 100 → substantial, 100 → complete.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from shared.errors import Invalid, RuleViolation
from shared.events.irm import CommitmentAssessed, Relevance, ReviewKind, ReviewState
from shared.events.plans import SelfAssessedCompletion
from shared.scales import (
    CURRENT,
    FIELD_SCALES,
    VERSION_FIELDS,
    Completion,
    DidItOpenGovernment,
    EarlyResults,
    PotentialForResults,
    PotentialImpact,
    ScaleVersion,
    Specificity,
    legacy_star,
    parse_label,
)

#: Fields each product codes on the current scales (relevance is the action plan review's).
PRODUCT_FIELDS: dict[ReviewKind, frozenset[str]] = {
    ReviewKind.CO_CREATION_BRIEF: frozenset(),
    ReviewKind.ACTION_PLAN_REVIEW: frozenset(
        {"verifiable", "specificity", "relevance", "potential_for_results", "promising"}
    ),
    ReviewKind.MIDTERM_REVIEW: frozenset({"completion", "early_results", "did_it_open_government"}),
    ReviewKind.RESULTS_REPORT: frozenset({"completion", "early_results", "did_it_open_government"}),
}
#: What "assessed further" means once a commitment is not verifiable.
FURTHER = (
    "relevance",
    "potential_for_results",
    "potential_impact",
    "promising",
    "completion",
    "early_results",
    "did_it_open_government",
)
CLOSED_STATES = frozenset({ReviewState.PUBLISHED.value, ReviewState.WITHDRAWN.value})


def completion_from_self_assessment(value: SelfAssessedCompletion) -> Completion:
    return Completion.COMPLETE if value is SelfAssessedCompletion.COMPLETED else Completion(value.value)


def completion_from_progress(progress: float) -> Completion:
    """The IRM's assumption from the weighted milestone progress (0-100)."""
    if progress <= 0:
        return Completion.NOT_STARTED
    if progress < 50:
        return Completion.LIMITED
    if progress < 100:
        return Completion.SUBSTANTIAL
    return Completion.COMPLETE


@dataclass(slots=True)
class KnownCommitment:
    """What the IRM keeps of a commitment from plans' events."""

    commitment_id: UUID
    plan_id: UUID
    member_id: UUID
    number: int | None = None
    title: str | None = None
    withdrawn: bool = False
    self_assessed: Completion | None = None
    progress: float | None = None

    @property
    def prefilled_completion(self) -> Completion | None:
        if self.self_assessed is not None:
            return self.self_assessed
        if self.progress is not None:
            return completion_from_progress(self.progress)
        return None


@dataclass(frozen=True, slots=True)
class Codes:
    """What one call codes; None is "not given" (the previous code stays). Scale values are the
    labels as given: the assessment parses them on its scale version."""

    verifiable: bool | None = None
    specificity: str | None = None
    relevance: Relevance | None = None
    potential_for_results: str | None = None
    potential_impact: str | None = None
    promising: bool | None = None
    completion: str | None = None
    completion_reason: str | None = None
    early_results: str | None = None
    did_it_open_government: str | None = None

    def given(self) -> dict[str, Any]:
        out = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name != "completion_reason" and getattr(self, f.name) is not None
        }
        if self.relevance is not None and not self.relevance.model_dump(exclude_none=True):
            del out["relevance"]  # no value coded
        return out


def _parse(name: str, raw: Any) -> Any:
    scale = FIELD_SCALES.get(name)
    if scale is None or scale is bool or name == "relevance":
        return raw
    assert issubclass(scale, StrEnum)
    try:
        value = parse_label(scale, str(raw))
    except ValueError:
        allowed = ", ".join(v.value for v in scale)
        raise Invalid(name, f"{raw!r} is not one of: {allowed}") from None
    if value is None:
        raise Invalid(name, f"{raw!r} is not a value of the scale (leave the field out instead)")
    return value


def check_review_open(kind: ReviewKind, state: str) -> None:
    if not PRODUCT_FIELDS[kind]:
        raise RuleViolation("assessment.product_codes_no_commitment", f"a {kind.value} codes no commitment")
    if state in CLOSED_STATES:
        raise RuleViolation("assessment.review_closed", f"the review is {state}: its codes are final")


@dataclass(slots=True)
class Assessment:
    """One commitment as one review codes it."""

    review_id: UUID
    plan_id: UUID
    member_id: UUID
    commitment_id: UUID
    product: ReviewKind
    scale_version: ScaleVersion = CURRENT
    verifiable: bool | None = None
    specificity: Specificity | None = None
    relevance: Relevance = field(default_factory=Relevance)
    potential_for_results: PotentialForResults | None = None
    potential_impact: PotentialImpact | None = None
    promising: bool | None = None
    completion: Completion | None = None
    completion_prefilled: Completion | None = None
    completion_reason: str | None = None
    early_results: EarlyResults | None = None
    did_it_open_government: DidItOpenGovernment | None = None
    report_year: int | None = None
    assessed_at: datetime | None = None
    assessed_by: str | None = None

    def code(
        self,
        codes: Codes,
        *,
        prefilled: Completion | None,
        by: str,
        now: datetime,
        report_year: int | None = None,
    ) -> CommitmentAssessed:
        """Apply the codes given (every rule checked before anything changes); the event carries
        the whole assessment as it now stands."""
        given = codes.given()
        if not given:
            raise Invalid("codes", "nothing to code: give at least one scale value")
        legacy = self.scale_version is ScaleVersion.LEGACY_2014
        version_fields = VERSION_FIELDS[self.scale_version] | {"relevance"}
        for name in given:
            if name not in version_fields:
                raise RuleViolation(
                    "assessment.field_not_in_scale",
                    f"{name} is not coded on the {self.scale_version.value} scales",
                    name,
                )
            if not legacy and name not in PRODUCT_FIELDS[self.product]:
                raise RuleViolation(
                    "assessment.field_not_in_product", f"a {self.product.value} does not code {name}", name
                )
        parsed = {name: _parse(name, raw) for name, raw in given.items()}

        verifiable = parsed.get("verifiable", self.verifiable)
        further = [n for n in FURTHER if n in parsed]
        if verifiable is False and further:
            raise RuleViolation(
                "assessment.not_verifiable",
                f"the commitment is not verifiable and is not assessed further ({', '.join(further)})",
            )

        completion = parsed.get("completion")
        reason = (codes.completion_reason or "").strip() or None
        if completion is not None:
            kept = completion == self.completion and self.completion_reason is not None
            if prefilled is not None and completion != prefilled and reason is None and not kept:
                raise RuleViolation(
                    "assessment.completion_change_needs_reason",
                    f"the completion pre-filled from the plan's data is {prefilled.value}; "
                    f"changing it to {completion.value} needs a reason",
                    "completion_reason",
                )
            if completion == prefilled:
                reason = None
            elif reason is None:
                reason = self.completion_reason if kept else None

        if parsed.get("verifiable") is False:
            # Not assessed further: what it had is dropped.
            self.relevance = Relevance()
            for name in FURTHER:
                if name != "relevance":
                    setattr(self, name, None)
            self.completion_reason = None
        for name, value in parsed.items():
            if name == "relevance":
                value = Relevance(
                    **{
                        **self.relevance.model_dump(),
                        **value.model_dump(exclude_none=True),
                    }
                )
            setattr(self, name, value)
        if completion is not None:
            self.completion_prefilled = prefilled
            self.completion_reason = reason
        if report_year is not None:
            self.report_year = report_year
        elif self.report_year is None:
            self.report_year = now.year
        self.assessed_at, self.assessed_by = now, by
        return self.event()

    @property
    def relevant(self) -> bool | None:
        """Relevant to an OGP value (technology counts only with another value): None until known."""
        core = (
            self.relevance.access_to_information,
            self.relevance.civic_participation,
            self.relevance.public_accountability,
        )
        if any(v is True for v in core):
            return True
        if all(v is False for v in core):
            return False
        return None

    @property
    def star(self) -> bool | None:
        """The legacy star, for legacy-scale assessments only (the current scales have none)."""
        if self.scale_version is not ScaleVersion.LEGACY_2014:
            return None
        return legacy_star(
            specificity=self.specificity,
            relevant=self.relevant,
            potential_impact=self.potential_impact,
            completion=self.completion,
            report_year=self.report_year,
        )

    def event(self) -> CommitmentAssessed:
        assert self.assessed_at is not None
        return CommitmentAssessed(
            review_id=self.review_id,
            plan_id=self.plan_id,
            commitment_id=self.commitment_id,
            member_id=self.member_id,
            product=self.product,
            scale_version=self.scale_version.value,
            verifiable=self.verifiable,
            specificity=_v(self.specificity),
            relevance=self.relevance,
            potential_for_results=_v(self.potential_for_results),
            potential_impact=_v(self.potential_impact),
            promising=self.promising,
            completion=_v(self.completion),
            early_results=_v(self.early_results),
            did_it_open_government=_v(self.did_it_open_government),
            assessed_at=self.assessed_at,
            star=self.star,
            report_year=self.report_year,
            completion_reason=self.completion_reason,
        )


def _v(value: StrEnum | None) -> str | None:
    return None if value is None else value.value

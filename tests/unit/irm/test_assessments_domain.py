"""The Assessment aggregate: every rule and refusal, with the scales as explicit tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from services.irm.domain.assessments import (
    Assessment,
    Codes,
    check_review_open,
    completion_from_progress,
    completion_from_self_assessment,
)
from shared.errors import Invalid, RuleViolation
from shared.events.irm import CommitmentAssessed, Relevance, ReviewKind
from shared.events.plans import SelfAssessedCompletion
from shared.scales import Completion, ScaleVersion

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
APR = ReviewKind.ACTION_PLAN_REVIEW
RR = ReviewKind.RESULTS_REPORT


def new(product: ReviewKind = APR, version: ScaleVersion = ScaleVersion.IRM_2021) -> Assessment:
    return Assessment(uuid4(), uuid4(), uuid4(), uuid4(), product, version)


def code(a: Assessment, prefilled: Completion | None = None, **codes: Any) -> CommitmentAssessed:
    year = codes.pop("report_year", None)
    return a.code(Codes(**codes), prefilled=prefilled, by="researcher-1", now=NOW, report_year=year)


def test_an_action_plan_review_codes_a_verifiable_commitment() -> None:
    a = new()
    event = code(
        a,
        verifiable=True,
        relevance=Relevance(civic_participation=True),
        potential_for_results="Substantial",
        promising=True,
    )
    assert (event.product, event.scale_version, event.review_id) == (APR, "irm-2021", a.review_id)
    assert (event.verifiable, event.potential_for_results, event.promising) == (True, "substantial", True)
    assert event.relevance.civic_participation is True
    assert (event.assessed_at, event.report_year, event.star) == (NOW, 2026, None)


def test_codes_left_out_keep_their_value_and_relevance_merges_per_value() -> None:
    a = new()
    code(a, verifiable=True, relevance=Relevance(access_to_information=True))
    event = code(a, relevance=Relevance(public_accountability=False), potential_for_results="modest")
    assert event.verifiable is True
    assert event.relevance == Relevance(access_to_information=True, public_accountability=False)
    assert event.potential_for_results == "modest"


@pytest.mark.parametrize(
    "further",
    [
        {"potential_for_results": "modest"},
        {"promising": True},
        {"relevance": Relevance(access_to_information=True)},
    ],
)
def test_a_not_verifiable_commitment_is_not_assessed_further(further: dict[str, Any]) -> None:
    a = new()
    code(a, verifiable=False)
    with pytest.raises(RuleViolation) as caught:
        code(a, **further)
    assert caught.value.rule == "assessment.not_verifiable" and caught.value.field is None  # 409
    with pytest.raises(RuleViolation, match="not verifiable"):
        code(new(), verifiable=False, **further)  # nor in the same call


def test_coding_a_commitment_not_verifiable_drops_its_other_codes() -> None:
    a = new()
    code(a, verifiable=True, potential_for_results="substantial", promising=True,
         relevance=Relevance(civic_participation=True))  # fmt: skip
    event = code(a, verifiable=False)
    assert (event.verifiable, event.potential_for_results, event.promising) == (False, None, None)
    assert event.relevance == Relevance()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("potential_for_results", "huge"),
        ("potential_for_results", "transformative"),  # a legacy value on the current scale
        ("completion", "withdrawn"),
        ("early_results", "outstanding"),
        ("completion", "ND"),  # "not assessed" is not a value: leave the field out
    ],
)
def test_an_unknown_scale_value_names_its_field(field: str, value: str) -> None:
    product = APR if field == "potential_for_results" else RR
    with pytest.raises(Invalid) as caught:
        code(new(product), **{field: value})
    assert caught.value.errors[0][0] == field


@pytest.mark.parametrize(
    ("product", "field", "value", "rule"),
    [
        (APR, "completion", "complete", "assessment.field_not_in_product"),
        (APR, "early_results", "modest", "assessment.field_not_in_product"),
        (RR, "verifiable", True, "assessment.field_not_in_product"),
        (RR, "potential_for_results", "modest", "assessment.field_not_in_product"),
        (RR, "promising", True, "assessment.field_not_in_product"),
        (APR, "specificity", "high", "assessment.field_not_in_scale"),  # irm-2021 has no specificity
        (APR, "potential_impact", "moderate", "assessment.field_not_in_scale"),
        (RR, "did_it_open_government", "major", "assessment.field_not_in_scale"),
    ],
)
def test_a_field_the_product_or_the_scale_does_not_code_is_refused_by_name(
    product: ReviewKind, field: str, value: Any, rule: str
) -> None:
    with pytest.raises(RuleViolation) as caught:
        code(new(product), **{field: value})
    assert (caught.value.rule, caught.value.field) == (rule, field)  # 422


def test_nothing_to_code_is_invalid() -> None:
    with pytest.raises(Invalid):
        code(new(), relevance=Relevance())


def test_the_results_report_codes_completion_and_early_results() -> None:
    event = code(new(RR), completion="Substantial", early_results="No notable results")
    assert (event.product, event.completion, event.early_results) == (RR, "substantial", "no_notable")
    assert event.completion_reason is None


def test_confirming_the_prefilled_completion_needs_no_reason() -> None:
    a = new(RR)
    event = code(a, prefilled=Completion.LIMITED, completion="limited")
    assert (event.completion, event.completion_reason, a.completion_prefilled) == (
        "limited",
        None,
        Completion.LIMITED,
    )


def test_changing_the_prefilled_completion_needs_a_reason() -> None:
    a = new(RR)
    for reason in (None, "  "):
        with pytest.raises(RuleViolation) as caught:
            code(a, prefilled=Completion.COMPLETE, completion="limited", completion_reason=reason)
        assert (caught.value.rule, caught.value.field) == (
            "assessment.completion_change_needs_reason",
            "completion_reason",
        )
    assert a.completion is None  # nothing changed
    event = code(a, prefilled=Completion.COMPLETE, completion="limited",
                 completion_reason="Two of the four milestones have no evidence")  # fmt: skip
    assert (event.completion, event.completion_reason) == (
        "limited",
        "Two of the four milestones have no evidence",
    )
    # Coding early results later keeps the completion and its reason.
    again = code(a, prefilled=Completion.COMPLETE, early_results="modest")
    assert again.completion_reason == "Two of the four milestones have no evidence"


def test_without_a_prefill_any_completion_is_taken() -> None:
    assert code(new(RR), completion="no_evidence").completion == "no_evidence"


def test_legacy_assessments_derive_the_star_by_the_report_year() -> None:
    legacy = dict(
        specificity="High",
        relevance=Relevance(access_to_information=True),
        potential_impact="Moderate",
        completion="Complete",
        did_it_open_government="Major",
    )
    before = code(new(RR, ScaleVersion.LEGACY_2014), **legacy, report_year=2014)
    after = code(new(RR, ScaleVersion.LEGACY_2014), **legacy, report_year=2015)
    assert (before.star, after.star) == (True, False)
    transformative = code(new(RR, ScaleVersion.LEGACY_2014), **{**legacy, "potential_impact": "transformative"},
                          report_year=2017)  # fmt: skip
    assert transformative.star is True
    # Not computable until relevance, specificity, impact and completion are all known.
    partial = code(new(APR, ScaleVersion.LEGACY_2014), specificity="high", report_year=2013)
    assert partial.star is None
    assert partial.scale_version == "legacy-2014"


def test_no_star_on_the_current_scales() -> None:
    assert code(new(RR), completion="complete").star is None


@pytest.mark.parametrize(
    ("kind", "state", "rule"),
    [
        (ReviewKind.CO_CREATION_BRIEF, "researching", "assessment.product_codes_no_commitment"),
        (APR, "published", "assessment.review_closed"),
        (RR, "withdrawn", "assessment.review_closed"),
    ],
)
def test_closed_reviews_and_briefs_code_nothing(kind: ReviewKind, state: str, rule: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        check_review_open(kind, state)
    assert (caught.value.rule, caught.value.field) == (rule, None)


@pytest.mark.parametrize("state", ["scheduled", "researching", "draft", "pre_publication", "public_comment"])
def test_open_reviews_may_be_coded(state: str) -> None:
    check_review_open(APR, state)


@pytest.mark.parametrize(
    ("progress", "completion"),
    [
        (0, Completion.NOT_STARTED),
        (0.5, Completion.LIMITED),
        (1, Completion.LIMITED),
        (49, Completion.LIMITED),
        (49.9, Completion.LIMITED),
        (50, Completion.SUBSTANTIAL),
        (99, Completion.SUBSTANTIAL),
        (100, Completion.COMPLETE),
    ],
)
def test_completion_from_milestone_progress(progress: float, completion: Completion) -> None:
    assert completion_from_progress(progress) is completion


@pytest.mark.parametrize(
    ("self_assessed", "completion"),
    [
        (SelfAssessedCompletion.NOT_STARTED, Completion.NOT_STARTED),
        (SelfAssessedCompletion.LIMITED, Completion.LIMITED),
        (SelfAssessedCompletion.SUBSTANTIAL, Completion.SUBSTANTIAL),
        (SelfAssessedCompletion.COMPLETED, Completion.COMPLETE),
    ],
)
def test_completion_from_the_self_assessment(
    self_assessed: SelfAssessedCompletion, completion: Completion
) -> None:
    assert completion_from_self_assessment(self_assessed) is completion

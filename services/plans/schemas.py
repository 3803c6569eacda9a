"""HTTP request and response models of the plans service (pydantic), kept apart from the routes
so the import and export code can reuse them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, EmailStr, Field, HttpUrl, field_validator

from shared.dates import Day, PastDay
from shared.events.plans import (
    CommitmentState,
    DocumentType,
    EvidenceLink,
    Language,
    MemberKind,
    MemberStatus,
    MilestoneStatus,
    OgpValues,
    PlanState,
    SelfAssessedCompletion,
    Strand,
)

#: Limits with room over the longest in OGP's published commitments database (a full text of
#: 27,816 characters, a lead institution of 745, supporting institutions of 1,617, a theme of 118).
Text = Annotated[str, Field(min_length=1, max_length=60_000)]


def _some_language(value: Any) -> Any:
    """An empty map is no text at all: refused here, so the error names the field itself rather
    than one branch of the union, and no code below ever looks for the first of no languages."""
    if isinstance(value, dict) and not value:
        raise ValueError("must give the text in at least one language")
    return value


#: ``{"en": "...", "fr": "..."}`` (at least one language); a plain string is taken as the
#: original language's text.
Localized = Annotated[
    Annotated[dict[Language, Text], Field(min_length=1)] | Text, BeforeValidator(_some_language)
]

#: List fields of the commitment template: ``null`` means "none" and is stored as an empty list
#: (the columns are NOT NULL; the API documents them as nullable).
LIST_FIELDS = ("supporting_government", "supporting_other", "policy_areas", "sdg_targets", "other_plan_links")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class MemberIn(_In):
    name: str = Field(min_length=1, max_length=300)
    kind: MemberKind
    country_code: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    region: str | None = Field(default=None, max_length=100)


class MemberOut(BaseModel):
    id: UUID
    name: str
    kind: MemberKind
    country_code: str | None
    region: str | None = None
    status: MemberStatus = MemberStatus.PARTICIPATING
    status_reason: str | None = None
    status_changed_at: datetime | None = None
    created_at: datetime


class MemberStatusIn(_In):
    status: MemberStatus
    reason: str = Field(min_length=3, max_length=2000)
    plan_id: UUID | None = None


class ContactIn(_In):
    name: str = Field(min_length=1, max_length=300)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, pattern=r"^\+[1-9][0-9]{6,14}$", description="E.164")
    language: Language = Language.EN


class PlanIn(_In):
    member_id: UUID
    title: str = Field(min_length=1, max_length=500)
    start_date: Day
    end_date: Day
    point_of_contact: ContactIn
    strands: list[Strand] | None = Field(default=None, min_length=1)


class PlanOut(BaseModel):
    id: UUID
    member_id: UUID
    title: str
    start_date: date
    end_date: date
    length_years: int
    strands: list[Strand]
    action_plan_number: int | None
    state: PlanState
    point_of_contact_id: UUID
    commitment_count: int
    progress: float
    created_at: datetime
    submitted_at: datetime | None
    implementation_started_at: datetime | None = None
    refreshed_at: datetime | None = None
    ended_at: datetime | None = None
    closed_at: datetime | None = None
    updated_at: datetime


class TransitionIn(_In):
    to: PlanState


class CommitmentFields(_In):
    """Every field of OGP's commitment template; texts in one or more languages."""

    original_language: Language | None = None
    title: Localized | None = None
    problem: Localized | None = None
    baseline: Localized | None = None
    status_quo: Localized | None = None
    objective: Localized | None = None
    how_it_solves: Localized | None = None
    ambition: Localized | None = None
    start_date: Day | None = None
    end_date: Day | None = None
    lead_agency: str | None = Field(default=None, max_length=2_000)
    responsible_person: str | None = Field(default=None, max_length=300)
    supporting_government: list[Annotated[str, Field(max_length=5_000)]] | None = Field(
        default=None, max_length=100
    )
    supporting_other: list[Annotated[str, Field(max_length=5_000)]] | None = Field(
        default=None, max_length=100
    )
    values: OgpValues | None = None
    policy_areas: list[Annotated[str, Field(min_length=1, max_length=1_000)]] | None = Field(
        default=None, max_length=150
    )
    budget_amount: float | None = Field(default=None, ge=0)
    budget_currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    sdg_targets: list[Annotated[str, Field(pattern=r"^\d{1,2}(\.[0-9a-z]{1,2})?$")]] | None = None
    other_plan_links: list[HttpUrl] | None = None

    @field_validator("policy_areas")
    @classmethod
    def _lower(cls, v: list[str] | None) -> list[str] | None:
        return sorted({a.lower() for a in v}) if v is not None else None

    def to_fields(self, default_language: Language = Language.EN) -> dict[str, Any]:
        """Column-named values of the fields that were sent (texts merged into one map)."""
        sent = self.model_dump(exclude_unset=True, mode="json")
        lang = sent.get("original_language") or default_language.value
        texts: dict[str, dict[str, str]] = {}
        out: dict[str, Any] = {}
        for key, value in sent.items():
            if key in (
                "title",
                "problem",
                "baseline",
                "status_quo",
                "objective",
                "how_it_solves",
                "ambition",
            ):
                if value is not None:
                    texts[key] = {lang: value} if isinstance(value, str) else value
            elif key == "values":
                # null: relevant to none of the values.
                out.update({f"value_{k}": v for k, v in (value or OgpValues().model_dump()).items()})
            elif key in LIST_FIELDS:
                out[key] = value if value is not None else []
            elif key in ("start_date", "end_date"):
                out[key] = getattr(self, key)
            else:
                out[key] = value
        if texts:
            out["texts"] = texts
        if "original_language" in sent:
            out["original_language"] = lang
        return out


class CommitmentIn(CommitmentFields):
    title: Localized


class CommitmentPatch(CommitmentFields):
    expected_version: int | None = Field(default=None, description="optimistic concurrency check")


class CommitmentTransitionIn(_In):
    to: CommitmentState
    reason: str | None = Field(default=None, max_length=2000)


class MilestoneIn(_In):
    title: Localized
    deliverable: Localized | None = None
    start_date: Day | None = None
    end_date: Day | None = None
    responsible: str | None = Field(default=None, max_length=300)
    weight: float = Field(default=1, gt=0, le=1000)


class ProgressIn(_In):
    status: MilestoneStatus
    progress: int = Field(default=0, ge=0, le=100)
    note: str | None = Field(default=None, max_length=5000)
    evidence: list[EvidenceLink] = Field(default_factory=list, max_length=50)
    end_date: Day | None = Field(default=None, description="new end date, e.g. when delayed")


class SelfAssessmentIn(_In):
    completion: SelfAssessedCompletion
    evidence: list[EvidenceLink] = Field(default_factory=list, max_length=50)
    note: str | None = Field(default=None, max_length=5000)


class DocumentIn(_In):
    type: DocumentType
    title: str = Field(min_length=1, max_length=500)
    url: HttpUrl
    language: Language
    #: Already published: not after today's date anywhere on Earth.
    published_on: PastDay

"""Use cases on the plan's public document repository (OGP co-creation standard 2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from uuid import UUID, uuid4

from services.plans.domain.documents import Document
from services.plans.store.protocols import PlansUnitOfWork
from services.plans.use_cases._common import actor_id, plan_for_edit
from shared.auth import Principal
from shared.events.plans import DocumentType, Language


@dataclass(frozen=True, slots=True)
class PublishDocument:
    who: Principal
    plan_id: UUID
    type: DocumentType
    title: str
    url: str
    language: Language
    published_on: date


async def publish_document(uow: PlansUnitOfWork, cmd: PublishDocument) -> Document:
    plan = await plan_for_edit(uow, cmd.who, cmd.plan_id)
    document = Document(
        uuid4(), plan.id, plan.member_id, cmd.type, cmd.title, cmd.url, cmd.language, cmd.published_on,
        created_by=actor_id(cmd.who),
    )  # fmt: skip
    await uow.documents.add(document)
    uow.publish(document.published(datetime.now(UTC)))
    return document


@dataclass(frozen=True, slots=True)
class FileDocument:
    """A document another service produced for a plan, under that service's own id."""

    document_id: UUID
    plan_id: UUID
    member_id: UUID
    type: DocumentType
    title: str
    url: str
    published_on: date
    published_at: datetime
    by: str
    language: Language = Language.EN


class Filing(StrEnum):
    """What became of a document filed from another service."""

    FILED = "filed"
    REPEAT = "repeat"  # filed before (under another event id): nothing new to announce
    UNKNOWN_PLAN = "unknown_plan"
    OTHER_MEMBER = "other_member"  # the plan is another member's: filing it would leak


async def file_document(uow: PlansUnitOfWork, cmd: FileDocument) -> Filing:
    """File a document in the plan's repository and announce it, once: the document id is
    deterministic, so a repeat is told from the first filing and announced only the first time."""
    owner = await uow.plans.member_of(cmd.plan_id)
    if owner is None:
        return Filing.UNKNOWN_PLAN
    if owner != cmd.member_id:
        return Filing.OTHER_MEMBER
    document = Document(
        cmd.document_id, cmd.plan_id, cmd.member_id, cmd.type, cmd.title, cmd.url, cmd.language,
        cmd.published_on, created_by=cmd.by,
    )  # fmt: skip
    if not await uow.documents.add(document, once=True):
        return Filing.REPEAT
    uow.publish(document.published(cmd.published_at))
    return Filing.FILED

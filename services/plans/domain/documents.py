"""The plan's public document repository (OGP co-creation standard 2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from shared.events.plans import DocumentPublished, DocumentType, Language


@dataclass(frozen=True, slots=True)
class Document:
    id: UUID
    plan_id: UUID
    member_id: UUID
    type: DocumentType
    title: str
    url: str
    language: Language
    published_on: date
    created_by: str

    def published(self, at: datetime) -> DocumentPublished:
        return DocumentPublished(
            document_id=self.id,
            plan_id=self.plan_id,
            member_id=self.member_id,
            type=self.type,
            title=self.title,
            url=self.url,
            language=self.language,
            published_on=self.published_on,
            published_at=at,
        )

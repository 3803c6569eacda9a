"""The consultation service's reactions to the plans service's events and to erasure requests, by
event type.

All events of a plan share its partition, so they arrive in order; each use case is still safe
to run again for an event replayed from the dead-letter topic."""

from __future__ import annotations

from services.consultation.domain.rounds import CommitmentSpace
from services.consultation.settings import ConsultationSettings
from services.consultation.store import ConsultationUnitOfWork
from services.consultation.use_cases import co_creation, contacts
from shared.events.envelope import Received
from shared.events.plans import CommitmentAdded, PlanCreated, PlanSubmitted
from shared.events.privacy import ErasureRequested
from shared.reactions import Reactions


def reactions(settings: ConsultationSettings) -> Reactions[ConsultationUnitOfWork]:
    on = Reactions[ConsultationUnitOfWork]()

    @on.on(PlanCreated)
    async def on_plan_created(uow: ConsultationUnitOfWork, event: PlanCreated, _: Received) -> None:
        """A new plan gets its co-creation space."""
        await co_creation.open_co_creation(
            uow, co_creation.OpenCoCreation(event.plan_id, event.member_id, event.title, event.created_at)
        )

    @on.on(CommitmentAdded)
    async def on_commitment_added(uow: ConsultationUnitOfWork, event: CommitmentAdded, _: Received) -> None:
        await co_creation.add_commitment(
            uow,
            CommitmentSpace(event.commitment_id, event.plan_id, event.number, event.title, event.added_at),
        )

    @on.on(PlanSubmitted)
    async def on_plan_submitted(uow: ConsultationUnitOfWork, event: PlanSubmitted, _: Received) -> None:
        """Submission closes co-creation: no more input on this plan's drafts."""
        await co_creation.close_co_creation(
            uow,
            co_creation.CloseCoCreation(
                event.plan_id,
                event.member_id,
                event.title,
                event.submitted_at,
                settings.participation_min_cell,
            ),
        )

    @on.on(ErasureRequested)
    async def on_erasure_requested(uow: ConsultationUnitOfWork, event: ErasureRequested, _: Received) -> None:
        """A person asked to be forgotten: their contacts left with inputs are deleted and
        tombstoned on the private topic (the inputs themselves stay, as public record)."""
        await contacts.erase_contacts(
            uow, contacts.EraseContacts(event.erasure_id, event.email_sha256, event.phone_sha256)
        )

    return on

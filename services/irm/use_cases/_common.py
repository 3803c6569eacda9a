"""What every IRM use case on a review starts with: the review (404 when unknown) and who may act
on it: IRM staff on any review, a researcher only on the review assigned to them."""

from __future__ import annotations

from uuid import UUID

from services.irm.domain.reviews import Review
from services.irm.store import IrmUnitOfWork
from shared.auth import Principal, Role
from shared.errors import Forbidden, NotFound


async def review_of(uow: IrmUnitOfWork, review_id: UUID, *, for_update: bool = True) -> Review:
    """The review, locked for the rest of the unit of work unless ``for_update`` is False."""
    review = await uow.reviews.get(review_id, for_update=for_update)
    if review is None:
        raise NotFound(f"review {review_id}")
    return review


async def is_assigned_researcher(uow: IrmUnitOfWork, review: Review, who: Principal) -> bool:
    if not who.has(Role.RESEARCHER) or review.researcher_id is None:
        return False
    researcher = await uow.reviews.researcher(review.researcher_id)
    return researcher is not None and researcher.subject == who.subject


async def check_irm_or_assigned(uow: IrmUnitOfWork, review: Review, who: Principal, refusal: str) -> None:
    """IRM staff, or the researcher assigned to ``review``; anyone else is refused with ``refusal``."""
    if who.has(Role.IRM) or await is_assigned_researcher(uow, review, who):
        return
    raise Forbidden(refusal)

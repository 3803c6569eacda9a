"""Following: a person hears of some kinds of event about one member, plan, commitment,
consultation round or IRM review.

One subscription per person and scope. Asking again with the same kinds changes nothing; with
other kinds it replaces them (the person said what they want now).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

from services.notifications.domain.triggers import ScopeType, check_follow


@dataclass(slots=True)
class Subscription:
    id: UUID
    recipient_id: UUID
    scope_type: ScopeType
    scope_id: UUID
    #: Empty: every kind the scope has.
    kinds: frozenset[str]
    created_at: datetime
    #: None until confirmed by a link (public followers); set at once for signed-in people.
    confirmed_at: datetime | None = None

    @classmethod
    def new(
        cls,
        recipient_id: UUID,
        scope_type: ScopeType,
        scope_id: UUID,
        kinds: frozenset[str],
        now: datetime,
        *,
        confirmed: bool,
    ) -> Subscription:
        kinds = check_follow(scope_type, kinds)
        return cls(uuid4(), recipient_id, scope_type, scope_id, kinds, now, now if confirmed else None)

    @property
    def scope(self) -> str:
        """How consent records name what was followed (ids only)."""
        return f"{self.scope_type.value}:{self.scope_id}"

    def same_as(self, other: Subscription) -> bool:
        """Asking again for what one has: nothing to change."""
        return (self.recipient_id, self.scope_type, self.scope_id, self.kinds) == (
            other.recipient_id, other.scope_type, other.scope_id, other.kinds,
        )  # fmt: skip

    def confirm(self, now: datetime) -> bool:
        """False when it was confirmed already (a second click changes nothing)."""
        if self.confirmed_at is not None:
            return False
        self.confirmed_at = now
        return True

"""Event reactions registered by the type of event they take.

A service lists what it does when another service's event arrives in one registry::

    reactions = Reactions[IrmUnitOfWork]()

    @reactions.on(PlanSubmitted)
    async def on_plan_submitted(uow: IrmUnitOfWork, event: PlanSubmitted, meta: Received) -> None:
        await use_cases.schedule_action_plan_review(uow, ...)

Each reaction is typed by the event it takes (no ``isinstance`` assert in its body) and by the
service's unit of work (which the consumer builds from ``ServiceSpec.uow``). The registry hands the
consumer one plain handler per event type; the consumer decodes, claims the inbox row and retries.
A reaction that needs settings is registered inside a small factory that closes over them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Generic, TypeVar, cast

from shared.events.base import Event
from shared.events.envelope import Received
from shared.uow import UnitOfWork

E = TypeVar("E", bound=Event)
U = TypeVar("U")

#: What the consumer calls: the unit of work it opened and the decoded event.
Handler = Callable[[UnitOfWork, Received], Awaitable[None]]


class Reactions(Generic[U]):
    """One service's reactions, by event type; ``U`` is the service's unit-of-work interface."""

    def __init__(self) -> None:
        self._handlers: dict[type[Event], Handler] = {}

    def on(
        self, event_type: type[E]
    ) -> Callable[[Callable[[U, E, Received], Awaitable[None]]], Callable[[U, E, Received], Awaitable[None]]]:
        def register(
            reaction: Callable[[U, E, Received], Awaitable[None]],
        ) -> Callable[[U, E, Received], Awaitable[None]]:
            if event_type in self._handlers:
                raise ValueError(f"two reactions to {event_type.__name__}")

            async def handle(uow: UnitOfWork, received: Received) -> None:
                # The consumer looked the handler up by the decoded event's exact type.
                await reaction(cast(U, uow), cast(E, received.event), received)

            handle.__name__ = getattr(reaction, "__name__", "reaction")
            self._handlers[event_type] = handle
            return reaction

        return register

    @property
    def handlers(self) -> Mapping[type[Event], Handler]:
        return dict(self._handlers)

    def __contains__(self, event_type: object) -> bool:
        return event_type in self._handlers

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

Several parts of a service may react to the same event type (the IRM's review clocks and its
findings both learn from ``PlanSubmitted``): they run in the order they were registered, in the
one unit of work of the event, so the event is applied by all of them or by none.
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
        self._reactions: dict[type[Event], list[Callable[[U, Event, Received], Awaitable[None]]]] = {}

    def on(
        self, event_type: type[E]
    ) -> Callable[[Callable[[U, E, Received], Awaitable[None]]], Callable[[U, E, Received], Awaitable[None]]]:
        def register(
            reaction: Callable[[U, E, Received], Awaitable[None]],
        ) -> Callable[[U, E, Received], Awaitable[None]]:
            # The consumer looks reactions up by the decoded event's exact type, so every one
            # registered here receives an ``E``.
            generic = cast(Callable[[U, Event, Received], Awaitable[None]], reaction)
            self._reactions.setdefault(event_type, []).append(generic)
            return reaction

        return register

    @property
    def handlers(self) -> Mapping[type[Event], Handler]:
        return {event_type: self._handler(reactions) for event_type, reactions in self._reactions.items()}

    def _handler(self, reactions: list[Callable[[U, Event, Received], Awaitable[None]]]) -> Handler:
        if len(reactions) == 1:
            [only] = reactions

            async def handle_one(uow: UnitOfWork, received: Received) -> None:
                await only(cast(U, uow), received.event, received)

            return handle_one

        async def handle_all(uow: UnitOfWork, received: Received) -> None:
            for reaction in reactions:
                await reaction(cast(U, uow), received.event, received)

        return handle_all

    def __contains__(self, event_type: object) -> bool:
        return event_type in self._reactions

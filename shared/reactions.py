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

**Batch reactions** (``@on.on_batch(PlanSubmitted)``) take every event of a run of that type the
consumer read from one partition (in partition order) and apply them with one statement per
table instead of a few round trips per event: on a hot event type this is most of a consumer's
cost. The same reaction serves a single event (a list of one) when the consumer applies records
one at a time (retries, a batch that fell back). It must leave the store as the per-event
reactions would have done, applied in order; an event it publishes names its cause
(``uow.publish(event, cause=received)``) so the trace still runs from that event.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Generic, TypeVar, cast

from shared.events.base import Event
from shared.events.envelope import Received
from shared.uow import UnitOfWork

E = TypeVar("E", bound=Event)
U = TypeVar("U")

#: What the consumer calls: the unit of work it opened and the decoded event.
Handler = Callable[[UnitOfWork, Received], Awaitable[None]]
#: A reaction to one event, as registered with :meth:`Reactions.on`.
_One = Callable[[U, Event, Received], Awaitable[None]]
#: A reaction to a run of events of one type, as registered with :meth:`Reactions.on_batch`.
_Many = Callable[[U, Sequence[Received]], Awaitable[None]]


class Dispatch(Generic[U]):
    """The consumer's handler of one event type: every reaction registered for it, in order.

    Called with one event it is a :data:`Handler`; :meth:`many` applies a run of events of the
    type, giving each batch reaction the whole run and each per-event reaction one event at a
    time."""

    def __init__(self, reactions: list[tuple[_One[U], None] | tuple[None, _Many[U]]]) -> None:
        self._reactions = reactions
        self.batched = any(many is not None for _, many in reactions)

    async def __call__(self, uow: UnitOfWork, received: Received) -> None:
        await self.many(uow, (received,))

    async def many(self, uow: UnitOfWork, run: Sequence[Received]) -> None:
        typed = cast(U, uow)
        for one, many in self._reactions:
            if many is not None:
                await many(typed, run)
            else:
                assert one is not None
                for received in run:
                    await one(typed, received.event, received)


class Reactions(Generic[U]):
    """One service's reactions, by event type; ``U`` is the service's unit-of-work interface."""

    def __init__(self) -> None:
        self._reactions: dict[type[Event], list[tuple[_One[U], None] | tuple[None, _Many[U]]]] = {}

    def on(
        self, event_type: type[E]
    ) -> Callable[[Callable[[U, E, Received], Awaitable[None]]], Callable[[U, E, Received], Awaitable[None]]]:
        def register(
            reaction: Callable[[U, E, Received], Awaitable[None]],
        ) -> Callable[[U, E, Received], Awaitable[None]]:
            # The consumer looks reactions up by the decoded event's exact type, so every one
            # registered here receives an ``E``.
            generic = cast(_One[U], reaction)
            self._reactions.setdefault(event_type, []).append((generic, None))
            return reaction

        return register

    def on_batch(self, event_type: type[Event]) -> Callable[[_Many[U]], _Many[U]]:
        """Register a reaction to runs of ``event_type`` (each ``received.event`` is one)."""

        def register(reaction: _Many[U]) -> _Many[U]:
            self._reactions.setdefault(event_type, []).append((None, reaction))
            return reaction

        return register

    @property
    def handlers(self) -> Mapping[type[Event], Handler]:
        return {event_type: Dispatch(reactions) for event_type, reactions in self._reactions.items()}

    def __contains__(self, event_type: object) -> bool:
        return event_type in self._reactions

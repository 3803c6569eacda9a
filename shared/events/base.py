"""The base of every event contract and the registry that maps a CloudEvents type to its model.

An event's *type* carries its version (``ogp.plans.plan_submitted.v1``). Published versions are a
public contract: only optional fields may be added. A breaking change is a new class with ``.v2``,
published beside the old one while subscribers migrate.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class Event(BaseModel):
    """One fact that happened, as published on Kafka.

    Consumers ignore fields they do not know (``extra="ignore"``), which is what lets producers add
    optional fields without breaking anyone.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    #: CloudEvents ``type``; ends with the contract version.
    event_type: ClassVar[str]
    #: Kafka topic the event is published on.
    topic: ClassVar[str]
    #: Public events are part of the published contract; private ones carry personal data and
    #: live on access-controlled topics read by one service only.
    public: ClassVar[bool] = True
    #: Name of the field whose value is the Kafka key and CloudEvents subject (the aggregate id).
    key_field: ClassVar[str]

    _registry: ClassVar[dict[str, type[Event]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        event_type = cls.__dict__.get("event_type")
        if event_type is None:
            return  # an abstract intermediate class
        if event_type in Event._registry:
            raise TypeError(f"event type {event_type} is declared twice")
        if not event_type.rsplit(".", 1)[-1].startswith("v"):
            raise TypeError(f"event type {event_type} must end with its version, e.g. .v1")
        Event._registry[event_type] = cls

    @property
    def key(self) -> str:
        return str(getattr(self, self.key_field))

    @classmethod
    def version(cls) -> int:
        return int(cls.event_type.rsplit(".v", 1)[1])


class Tombstone(Event):
    """A record with no value on a compacted topic: "forget everything under this key".

    Not a contract (it declares no ``event_type``, so it is in no registry or catalog): the
    consumer hands it to a service that registered a reaction for it, e.g. to delete a person's
    contact details when the topic that brought them is told to forget them.
    """

    topic: ClassVar[str] = ""
    key_field: ClassVar[str] = "record_key"

    #: The topic the tombstone arrived on (without any test prefix).
    source_topic: str
    record_key: str


def event_types() -> dict[str, type[Event]]:
    """Every registered contract, after the contract modules are imported."""
    from shared.events import catalog  # noqa: F401  (import registers the models)

    return dict(Event._registry)


def model_for(event_type: str) -> type[Event] | None:
    return event_types().get(event_type)

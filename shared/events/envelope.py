"""CloudEvents 1.0 in Kafka *binary* mode: attributes in ``ce_*`` headers, the event's JSON as the
value, the aggregate id as the key.

Binary mode keeps the value a plain JSON document, so a subscriber that knows nothing of
CloudEvents still reads the data, while tools that do (the official SDKs) read the attributes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from uuid import UUID, uuid4

from pydantic import ValidationError

from shared.events.base import Event, model_for

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
#: Trace context headers copied as they are (W3C Trace Context).
TRACE_HEADERS = ("traceparent", "tracestate")


def dataschema_uri(event_type: str) -> str:
    """Stable identifier of the JSON Schema committed under ``schemas/events/<type>.json``."""
    return f"urn:sharaka:schema:{event_type}"


def source_uri(service: str) -> str:
    return f"/sharaka/{service}"


@dataclass(frozen=True, slots=True)
class KafkaRecord:
    """What goes on the wire: ready for any Kafka client."""

    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


@dataclass(frozen=True, slots=True)
class Envelope:
    """An event with its CloudEvents attributes, as stored in the outbox and read by consumers."""

    id: UUID
    type: str
    source: str
    subject: str
    time: datetime
    data: bytes
    topic: str

    @classmethod
    def wrap(
        cls,
        event: Event,
        *,
        service: str,
        event_id: UUID | None = None,
        time: datetime | None = None,
    ) -> Envelope:
        return cls(
            id=event_id or uuid4(),
            type=event.event_type,
            source=source_uri(service),
            subject=event.key,
            time=time or datetime.now(UTC),
            data=event.model_dump_json().encode(),
            topic=event.topic,
        )

    def to_record(self, trace_headers: Mapping[str, str] | None = None) -> KafkaRecord:
        headers = [
            ("ce_specversion", SPECVERSION.encode()),
            ("ce_id", str(self.id).encode()),
            ("ce_source", self.source.encode()),
            ("ce_type", self.type.encode()),
            ("ce_time", self.time.isoformat().encode()),
            ("ce_subject", self.subject.encode()),
            ("ce_dataschema", dataschema_uri(self.type).encode()),
            ("content-type", CONTENT_TYPE.encode()),
        ]
        for name in TRACE_HEADERS:
            if trace_headers and trace_headers.get(name):
                headers.append((name, trace_headers[name].encode()))
        return KafkaRecord(self.topic, self.subject.encode(), self.data, headers)


class PoisonReason(StrEnum):
    """Why a message can never be handled, whatever the number of retries."""

    MISSING_ATTRIBUTE = "missing_attribute"
    INVALID_JSON = "invalid_json"
    UNKNOWN_TYPE = "unknown_type"
    SCHEMA_INVALID = "schema_invalid"
    #: A well-formed event from a service that does not own its type, or on another topic than
    #: its contract's (see :func:`shared.events.catalog.check_sender`).
    UNEXPECTED_SOURCE = "unexpected_source"


class PoisonMessage(Exception):
    """``headers``: extra facts for the dead-letter record (e.g. the expected and actual source)."""

    def __init__(self, reason: PoisonReason, detail: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail
        self.headers = dict(headers or {})


@dataclass(frozen=True, slots=True)
class Received:
    """A decoded, validated event with the attributes a handler needs."""

    id: UUID
    type: str
    source: str
    subject: str | None
    time: datetime | None
    event: Event
    headers: dict[str, str]


def headers_dict(headers: Iterable[tuple[str, bytes | None]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers:
        if value is not None:
            out[name] = value.decode("utf-8", errors="replace")
    return out


def decode(headers: Iterable[tuple[str, bytes | None]], value: bytes | None) -> Received:
    """Turn a Kafka record into a typed event, or say precisely why it is poison."""
    h = headers_dict(headers)
    missing = [a for a in ("ce_id", "ce_type", "ce_source", "ce_specversion") if a not in h]
    if missing:
        raise PoisonMessage(PoisonReason.MISSING_ATTRIBUTE, f"missing {', '.join(missing)}")
    if h["ce_specversion"] != SPECVERSION:
        raise PoisonMessage(PoisonReason.MISSING_ATTRIBUTE, f"unsupported specversion {h['ce_specversion']}")
    try:
        event_id = UUID(h["ce_id"])
    except ValueError:
        raise PoisonMessage(PoisonReason.MISSING_ATTRIBUTE, "ce_id is not a UUID") from None
    model = model_for(h["ce_type"])
    if model is None:
        raise PoisonMessage(PoisonReason.UNKNOWN_TYPE, f"no contract for type {h['ce_type']!r}")
    try:
        # One pass in pydantic-core: parse and validate together, no intermediate dicts.
        event = model.model_validate_json(value or b"")
    except ValidationError as exc:
        errors = exc.errors()
        if errors and errors[0]["type"] == "json_invalid":
            raise PoisonMessage(PoisonReason.INVALID_JSON, str(errors[0]["msg"])) from None
        fields = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in errors
        )
        raise PoisonMessage(PoisonReason.SCHEMA_INVALID, fields) from None
    time: datetime | None = None
    if "ce_time" in h:
        try:
            time = datetime.fromisoformat(h["ce_time"])
        except ValueError:
            time = None
    return Received(
        id=event_id,
        type=h["ce_type"],
        source=h["ce_source"],
        subject=h.get("ce_subject"),
        time=time,
        event=event,
        headers=h,
    )

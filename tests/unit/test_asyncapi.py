"""The AsyncAPI document's structure, checked in-suite without the official AsyncAPI JSON Schema
(no JSON Schema validator is a dependency of the project): one channel per public topic, every
public event type exactly once as a message, every ``$ref`` resolving, the ``ce_*`` headers that
``Envelope.to_record`` really sets, and the key binding naming the key the contract uses."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

from shared.events import topics
from shared.events.base import event_types
from shared.events.envelope import Envelope
from shared.events.plans import PlanSubmitted
from shared.events.schemas import ASYNCAPI, asyncapi_document, asyncapi_spec, current_schemas

SPEC: dict[str, Any] = json.loads(ASYNCAPI.read_text())


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"external $ref {ref}"
    node: Any = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"unresolved $ref {ref}"
        node = node[part]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_the_committed_document_is_the_generated_one() -> None:
    assert ASYNCAPI.read_text() == asyncapi_document()
    assert asyncapi_spec() == SPEC
    assert SPEC["asyncapi"] == "3.0.0"


def test_one_channel_per_public_topic_and_no_private_topic() -> None:
    addresses = [c["address"] for c in SPEC["channels"].values()]
    assert sorted(addresses) == sorted(topics.PUBLIC)
    for channel in SPEC["channels"].values():
        assert channel["bindings"]["kafka"]["topic"] == channel["address"]
    assert "sharaka." not in json.dumps(SPEC["channels"])


def test_every_public_event_type_is_exactly_one_message_on_its_topic() -> None:
    public = {name: m for name, m in event_types().items() if m.public}
    on_channels = Counter(
        _resolve(SPEC, ref["$ref"])["name"]
        for channel in SPEC["channels"].values()
        for ref in channel["messages"].values()
    )
    assert dict(on_channels) == dict.fromkeys(public, 1)
    assert set(SPEC["components"]["messages"]) == set(public)
    for channel in SPEC["channels"].values():
        for ref in channel["messages"].values():
            message = _resolve(SPEC, ref["$ref"])
            assert public[message["name"]].topic == channel["address"], message["name"]


def test_every_ref_resolves() -> None:
    refs = _refs(SPEC)
    assert len(refs) > 100
    for ref in refs:
        _resolve(SPEC, ref)


def test_each_operation_sends_the_messages_of_its_own_channel() -> None:
    assert len(SPEC["operations"]) == len(topics.PUBLIC)
    for op in SPEC["operations"].values():
        assert op["action"] == "send"
        channel_ref = op["channel"]["$ref"]
        channel = _resolve(SPEC, channel_ref)
        assert {m["$ref"] for m in op["messages"]} == {
            f"{channel_ref}/messages/{name}" for name in channel["messages"]
        }


def test_payloads_are_the_published_json_schemas() -> None:
    published = current_schemas()
    schemas = SPEC["components"]["schemas"]
    for name, message in SPEC["components"]["messages"].items():
        payload = _resolve(SPEC, message["payload"]["$ref"])
        assert payload["$id"] == published[name]["$id"] == message["x-sharaka-dataschema"]
        assert payload["properties"].keys() == published[name]["properties"].keys()
        assert payload["required"] == published[name].get("required")
        for def_name in published[name].get("$defs", {}):
            assert def_name in schemas


def test_key_binding_names_the_contract_key() -> None:
    keys = Counter()
    for name, message in SPEC["components"]["messages"].items():
        model = event_types()[name]
        key = message["bindings"]["kafka"]["key"]
        assert key["type"] == "string" and key["format"] == "uuid"
        assert key["description"].startswith(f"`{model.key_field}`")
        assert message["x-sharaka-key"] == model.key_field
        keys[model.key_field] += 1
    assert set(keys) == {"plan_id", "member_id", "delivery_id"}


def test_headers_trait_matches_what_a_published_record_carries() -> None:
    trait = SPEC["components"]["messageTraits"]["cloudEvent"]["headers"]
    event = PlanSubmitted(
        plan_id=uuid4(), member_id=uuid4(), title="t", start_date=date(2025, 9, 1),
        end_date=date(2027, 8, 31), commitment_count=1, point_of_contact_id=uuid4(),
        submitted_at=datetime(2025, 10, 31, tzinfo=UTC),
    )  # fmt: skip
    plain = Envelope.wrap(event, service="plans").to_record()
    traced = Envelope.wrap(event, service="plans").to_record(
        {"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01", "tracestate": "a=b"}
    )
    assert {name for name, _ in plain.headers} == set(trait["required"])
    assert {name for name, _ in traced.headers} == set(trait["properties"])
    assert set(trait["required"]) == set(trait["properties"]) - {"traceparent", "tracestate"}
    for message in SPEC["components"]["messages"].values():
        assert message["traits"] == [{"$ref": "#/components/messageTraits/cloudEvent"}]


def test_correlation_id_points_at_a_header_every_record_carries() -> None:
    for message in SPEC["components"]["messages"].values():
        correlation = _resolve(SPEC, message["correlationId"]["$ref"])
        header = correlation["location"].removeprefix("$message.header#/")
        assert header in SPEC["components"]["messageTraits"]["cloudEvent"]["headers"]["required"]


def test_production_server_is_kafka_secure_with_scram() -> None:
    prod = SPEC["servers"]["production"]
    assert prod["protocol"] == "kafka-secure"
    schemes = [_resolve(SPEC, s["$ref"]) for s in prod["security"]]
    assert [s["type"] for s in schemes] == ["scramSha512"]
    assert SPEC["servers"]["development"]["protocol"] == "kafka"
    for channel in SPEC["channels"].values():
        assert "servers" not in channel  # available on every server

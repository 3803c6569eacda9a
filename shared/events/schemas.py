"""Export the JSON Schemas of every event contract and detect breaking changes against the
committed ones.

``python -m shared.events.schemas export`` rewrites ``schemas/events/``;
``python -m shared.events.schemas check`` fails when a committed schema was changed in a way that
would break a subscriber (a field removed, retyped or made required, an enum value dropped).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from shared.events import topics
from shared.events.base import Event, event_types
from shared.events.envelope import CONTENT_TYPE, SPECVERSION, dataschema_uri

REPO = Path(__file__).resolve().parents[2]
SCHEMA_DIR = REPO / "schemas" / "events"
CATALOG = REPO / "docs" / "events.md"
ASYNCAPI = REPO / "docs" / "asyncapi.json"
_NOISE = {"title", "description", "default", "examples"}


def schema_of(model: type[Event]) -> dict[str, Any]:
    schema = model.model_json_schema(mode="serialization")
    schema["$id"] = dataschema_uri(model.event_type)
    schema["x-sharaka-topic"] = model.topic
    schema["x-sharaka-key"] = model.key_field
    schema["x-sharaka-public"] = model.public
    return schema


def current_schemas() -> dict[str, dict[str, Any]]:
    return {name: schema_of(model) for name, model in sorted(event_types().items())}


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def committed_schemas(folder: Path = SCHEMA_DIR) -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """Resolve local ``$ref``s and drop annotations, so two schemas compare by meaning."""
    if isinstance(node, dict):
        if "$ref" in node and node["$ref"].startswith("#/$defs/"):
            return _inline(defs[node["$ref"].split("/")[-1]], defs)
        out = {k: _inline(v, defs) for k, v in node.items() if k not in _NOISE and k != "$defs"}
        if isinstance(node.get("properties"), dict):  # field names are data, not annotations
            out["properties"] = {k: _inline(v, defs) for k, v in node["properties"].items()}
        return out
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def _compare(old: Any, new: Any, where: str, out: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        if "enum" in old and "enum" in new:
            dropped = [v for v in old["enum"] if v not in new["enum"]]
            if dropped:
                out.append(f"{where}: enum values removed {dropped}")
            return
        if old.get("type") == "object" or "properties" in old:
            old_props: dict[str, Any] = old.get("properties", {})
            new_props: dict[str, Any] = new.get("properties", {})
            for name, sub in old_props.items():
                if name not in new_props:
                    out.append(f"{where}.{name}: field removed")
                else:
                    _compare(sub, new_props[name], f"{where}.{name}", out)
            added_required = set(new.get("required", [])) - set(old.get("required", []))
            for name in sorted(added_required):
                out.append(f"{where}.{name}: field became required")
            return
    if old != new:
        out.append(f"{where}: changed from {json.dumps(old)} to {json.dumps(new)}")


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """List what in ``new`` would break a subscriber written against ``old``."""
    out: list[str] = []
    _compare(_inline(old, old.get("$defs", {})), _inline(new, new.get("$defs", {})), "$", out)
    return out


# --- personal data in contracts ------------------------------------------------------------------
#: Name parts that say a field holds contact details or identifies a person. Matched per part of
#: a snake_case name (``contact_email``, ``mobile_number``, ``postal_address``), so a new field
#: is caught whatever it is prefixed with, not only when it is spelt exactly like an old one.
_PERSONAL_PARTS = frozenset({
    "email", "emails", "mail", "mailbox", "phone", "phones", "telephone", "tel", "mobile", "msisdn",
    "cell", "fax", "sms", "whatsapp", "address", "addresses", "street", "postcode", "postal", "zip",
    "birth", "birthday", "birthdate", "dob", "passport", "ssn", "surname", "firstname", "lastname",
    "fullname", "forename", "ip",
})  # fmt: skip
#: ``name`` alone is a member's, a forum's or a plan's; qualified by one of these it is a person's.
_PERSON_QUALIFIERS = frozenset({
    "first", "last", "full", "given", "family", "middle", "maiden", "contact", "author", "person",
    "user", "sender", "recipient", "participant", "citizen", "official", "legal",
})  # fmt: skip
#: Digests of personal data (pseudonymous, still personal) allowed only where erasures travel.
_DIGEST_SUFFIXES = ("_sha256", "_sha1", "_md5", "_hash", "_digest")
#: Where contact details may travel: the private, access-controlled contacts topics.
CONTACT_TOPICS = frozenset({topics.PLANS_CONTACTS, topics.CONSULTATION_CONTACTS})


def is_personal_field(name: str) -> bool:
    """Whether a field name says it holds contact details or identifies a person by name."""
    snake = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)  # emailAddress → email_Address
    parts = [p for p in snake.lower().replace("-", "_").split("_") if p]
    if parts and parts[-1] in ("id", "ids"):
        return False  # an opaque reference (recipient_id, point_of_contact_id), not the data
    if any(p in _PERSONAL_PARTS for p in parts):
        return True
    if "name" in parts:
        at = parts.index("name")
        around = parts[:at] + parts[at + 1 :]
        return any(p in _PERSON_QUALIFIERS for p in around)  # contact_name, name_of_contact
    return False


def personal_fields(schema: dict[str, Any]) -> list[str]:
    """Dotted paths of every personal field of ``schema``, nested objects and ``$defs`` included."""
    found: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for name, sub in (node.get("properties") or {}).items():
                if is_personal_field(name):
                    found.append(f"{where}.{name}")
                walk(sub, f"{where}.{name}")
            for key, sub in node.items():
                if key == "$defs" and isinstance(sub, dict):
                    for def_name, definition in sub.items():
                        walk(definition, f"$defs.{def_name}")
                elif key != "properties":
                    walk(sub, where)
        elif isinstance(node, list):
            for sub in node:
                walk(sub, where)

    walk(schema, "$")
    return sorted(set(found))


def personal_data_problems(schemas: dict[str, dict[str, Any]]) -> list[str]:
    """Contracts that would carry personal data where it must not travel: anywhere but the private
    contacts topics, except digests on the erasure topic (which names a person only by them)."""
    problems: list[str] = []
    for name, schema in schemas.items():
        topic = schema.get("x-sharaka-topic")
        if topic in CONTACT_TOPICS:
            continue
        for path in personal_fields(schema):
            if topic == topics.ERASURES and path.endswith(_DIGEST_SUFFIXES):
                continue
            problems.append(f"{name} {path}: personal data outside the private contacts topics")
    return problems


def check(folder: Path = SCHEMA_DIR) -> list[str]:
    """Problems between the committed schemas and the models; empty when all is well."""
    problems: list[str] = []
    committed = committed_schemas(folder)
    current = current_schemas()
    for name, old in committed.items():
        if name not in current:
            problems.append(f"{name}: a published event type was removed")
            continue
        problems.extend(f"{name} {p}" for p in breaking_changes(old, current[name]))
    for name, schema in current.items():
        if committed.get(name) != json.loads(render(schema)):
            problems.append(f"{name}: committed schema is stale; run `make schemas`")
    problems.extend(personal_data_problems(current))
    if folder == SCHEMA_DIR and (not CATALOG.exists() or CATALOG.read_text() != catalog_markdown()):
        problems.append("docs/events.md is stale; run `make schemas`")
    if folder == SCHEMA_DIR and (not ASYNCAPI.exists() or ASYNCAPI.read_text() != asyncapi_document()):
        problems.append("docs/asyncapi.json is stale; run `make schemas`")
    return problems


def _type_of(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        return str(prop["$ref"]).split("/")[-1]
    if "anyOf" in prop:
        return " or ".join(_type_of(p) for p in prop["anyOf"])
    if "enum" in prop:
        return " / ".join(map(str, prop["enum"]))
    kind = str(prop.get("type", "any"))
    return f"{kind} ({prop['format']})" if "format" in prop else kind


def catalog_markdown() -> str:
    """The human event catalog, generated so it can never drift from the contracts."""
    out = [
        "# Event catalog",
        "",
        "Generated by `make schemas` from the contracts in `shared/events/`; do not edit by hand.",
        "Every event is a CloudEvent in Kafka binary mode: attributes in `ce_*` headers",
        "(`ce_id`, `ce_source`, `ce_type`, `ce_time`, `ce_subject`, `ce_dataschema`), the data as",
        "JSON in the value, the key (= `ce_subject`) in the record key. JSON Schemas:",
        "`schemas/events/<type>.json`. Published versions only gain optional fields; a breaking",
        "change is a new `.vN` type published beside the old one.",
        "",
        "| type | topic | key | public |",
        "|---|---|---|---|",
    ]
    models = sorted(event_types().items())
    for name, model in models:
        out.append(
            f"| [`{name}`](#{name.replace('.', '')}) | `{model.topic}` | `{model.key_field}` | "
            f"{'yes' if model.public else '**private**'} |"
        )
    for name, model in models:
        schema = schema_of(model)
        required = set(schema.get("required", []))
        doc = " ".join((model.__doc__ or "").split())
        out += [
            "",
            f"## {name}",
            "",
            doc,
            "",
            "| field | type | required | description |",
            "|---|---|---|---|",
        ]
        for field, prop in schema.get("properties", {}).items():
            desc = " ".join(str(prop.get("description", "")).split())
            out.append(f"| `{field}` | {_type_of(prop)} | {'yes' if field in required else 'no'} | {desc} |")
    return "\n".join(out) + "\n"


#: AsyncAPI channel ids (stable names a subscriber's tooling may refer to), one per public topic.
_CHANNELS = {
    topics.PLANS: ("plans", "Plans and members: the plan lifecycle, commitments, membership status."),
    topics.CONSULTATION: ("consultation", "Co-creation, consultation windows, forums and their inputs."),
    topics.IRM: ("irm", "The Independent Reporting Mechanism: reviews, assessments, findings."),
    topics.NOTIFICATIONS: ("notifications", "Outcomes of notification deliveries (no contact details)."),
}
_KEY_DESCRIPTIONS = {
    "plan_id": "the plan id (UUID): every event of one plan is in one partition, in order",
    "member_id": "the member id (UUID): every event of one member is in one partition, in order",
    "delivery_id": "the delivery id (UUID): every event of one delivery is in one partition, in order",
}
#: The CloudEvents 1.0 attributes in Kafka binary mode, as every published record carries them.
CE_HEADERS: dict[str, dict[str, Any]] = {
    "ce_specversion": {"type": "string", "const": SPECVERSION, "description": "CloudEvents version."},
    "ce_id": {
        "type": "string",
        "format": "uuid",
        "description": "Unique id of the event; the same id on a redelivery: deduplicate on it.",
    },
    "ce_source": {
        "type": "string",
        "pattern": "^/sharaka/[a-z]+$",
        "description": "The publishing service, e.g. /sharaka/plans.",
    },
    "ce_type": {
        "type": "string",
        "pattern": r"^ogp\.[a-z_]+\.[a-z_]+\.v[0-9]+$",
        "description": "The event type with its version, e.g. ogp.plans.plan_submitted.v1; "
        "the payload's schema follows from it.",
    },
    "ce_time": {"type": "string", "format": "date-time", "description": "When it happened (ISO 8601)."},
    "ce_subject": {
        "type": "string",
        "format": "uuid",
        "description": "The aggregate id, the same as the record key.",
    },
    "ce_dataschema": {
        "type": "string",
        "pattern": "^urn:sharaka:schema:",
        "description": "urn:sharaka:schema:<ce_type>: the JSON Schema schemas/events/<ce_type>.json.",
    },
    "content-type": {"type": "string", "const": CONTENT_TYPE, "description": "Media type of the value."},
    "traceparent": {
        "type": "string",
        "description": "W3C Trace Context, set when the publishing request was traced.",
    },
    "tracestate": {"type": "string", "description": "W3C Trace Context vendor state, when set."},
}
CE_REQUIRED = [
    "ce_specversion",
    "ce_id",
    "ce_source",
    "ce_type",
    "ce_time",
    "ce_subject",
    "ce_dataschema",
    "content-type",
]
_REF_PREFIX = "#/$defs/"


def _rebase(node: Any) -> Any:
    """A model's schema with its ``#/$defs/`` refs pointed at the AsyncAPI components."""
    if isinstance(node, dict):
        out = {k: _rebase(v) for k, v in node.items() if k != "$defs"}
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
            out["$ref"] = "#/components/schemas/" + ref[len(_REF_PREFIX) :]
        return out
    if isinstance(node, list):
        return [_rebase(v) for v in node]
    return node


def asyncapi_spec() -> dict[str, Any]:
    """AsyncAPI 3.0: one channel per public topic with the event types published on it.

    Public events only: private topics are not part of the published contract. Payloads are the
    same JSON Schemas as ``schemas/events/`` (the event type is the component schema's name);
    the ``ce_*`` headers are a message trait, the record key a Kafka message binding."""
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    public = {name: model for name, model in sorted(event_types().items()) if model.public}
    for topic in topics.PUBLIC:
        channel_id, description = _CHANNELS[topic]
        channel_messages: dict[str, Any] = {}
        for name, model in public.items():
            if model.topic != topic:
                continue
            schema = schema_of(model)
            for def_name, definition in schema.get("$defs", {}).items():
                rebased = _rebase(definition)
                if schemas.setdefault(def_name, rebased) != rebased:
                    raise ValueError(f"two different schemas named {def_name}")
            schemas[name] = _rebase(schema)
            key_schema = dict(schema["properties"][model.key_field])
            key_schema.pop("title", None)
            key_schema["description"] = f"`{model.key_field}`: {_KEY_DESCRIPTIONS[model.key_field]}"
            messages[name] = {
                "name": name,
                "title": model.__name__,
                "summary": " ".join((model.__doc__ or "").split()).split(". ")[0].rstrip(".") + ".",
                "description": " ".join((model.__doc__ or "").split()),
                "contentType": CONTENT_TYPE,
                "payload": {"$ref": f"#/components/schemas/{name}"},
                "traits": [{"$ref": "#/components/messageTraits/cloudEvent"}],
                "correlationId": {"$ref": "#/components/correlationIds/eventId"},
                "bindings": {"kafka": {"key": key_schema, "bindingVersion": "0.5.0"}},
                "x-sharaka-key": model.key_field,
                "x-sharaka-dataschema": dataschema_uri(name),
            }
            channel_messages[name] = {"$ref": f"#/components/messages/{name}"}
        channels[channel_id] = {
            "address": topic,
            "title": topic,
            "description": description,
            "messages": channel_messages,
            "bindings": {"kafka": {"topic": topic, "bindingVersion": "0.5.0"}},
        }
        operations[f"publish-{channel_id}"] = {
            "action": "send",
            "title": f"Sharaka publishes on {topic}",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{m}"} for m in channel_messages],
        }
    return {
        "asyncapi": "3.0.0",
        "id": "urn:sharaka:asyncapi",
        "info": {
            "title": "Sharaka events",
            "version": "1",
            "description": "The Open Government Partnership process as CloudEvents 1.0 in Kafka "
            "binary mode: attributes in ce_* headers, the data as JSON in the value, the aggregate id "
            "(plan, member or delivery id) as the key. Published versions only gain optional fields; "
            "a breaking change is a new .vN type published beside the old one. See "
            "docs/subscribing.md.",
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "production": {
                "host": "{bootstrap}",
                "protocol": "kafka-secure",
                "description": "The production cluster: TLS (trust the cluster CA you are given) and "
                "SCRAM-SHA-512 with the KafkaUser issued to your system.",
                "variables": {
                    "bootstrap": {
                        "default": "sharaka-kafka-bootstrap:9093",
                        "description": "The bootstrap address given to you with your credentials.",
                    }
                },
                "security": [{"$ref": "#/components/securitySchemes/scram"}],
            },
            "development": {
                "host": "localhost:9092",
                "protocol": "kafka",
                "description": "The local development broker (`make up`): plaintext, no auth.",
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "messages": messages,
            "messageTraits": {
                "cloudEvent": {
                    "headers": {
                        "type": "object",
                        "properties": CE_HEADERS,
                        "required": CE_REQUIRED,
                    },
                    "description": "CloudEvents 1.0 attributes in Kafka binary mode (ce_* headers).",
                }
            },
            "correlationIds": {
                "eventId": {
                    "description": "The CloudEvents id, set on every record; unique per event and "
                    "kept on redelivery, so subscribers deduplicate on it.",
                    "location": "$message.header#/ce_id",
                }
            },
            "securitySchemes": {
                "scram": {
                    "type": "scramSha512",
                    "description": "SASL SCRAM-SHA-512 over TLS, as a KafkaUser with Read on the "
                    "topic and on your consumer group.",
                }
            },
        },
    }


def asyncapi_document() -> str:
    return json.dumps(asyncapi_spec(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def export(folder: Path = SCHEMA_DIR) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in current_schemas().items():
        path = folder / f"{name}.json"
        path.write_text(render(schema))
        written.append(path)
    if folder == SCHEMA_DIR:
        CATALOG.parent.mkdir(exist_ok=True)
        CATALOG.write_text(catalog_markdown())
        ASYNCAPI.write_text(asyncapi_document())
        written += [CATALOG, ASYNCAPI]
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.events.schemas")
    parser.add_argument("command", choices=["export", "check"])
    args = parser.parse_args(argv)
    if args.command == "export":
        breaking = [p for p in check() if "stale" not in p]
        if breaking:
            print("refusing to overwrite: breaking changes to published events:", file=sys.stderr)
            print("\n".join(breaking), file=sys.stderr)
            print("publish a new version (.v2) beside the old one instead", file=sys.stderr)
            return 1
        for path in export():
            print(path.relative_to(REPO))
        return 0
    problems = check()
    print("\n".join(problems) or "schemas up to date, no breaking change")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())

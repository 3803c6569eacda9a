"""Validation against the published JSON Schemas.

Uses the ``jsonschema`` package when it is installed (Draft 2020-12, formats checked). Without it,
a small validator of the subset of JSON Schema that the published schemas use (they are generated
by pydantic: ``type``, ``properties``, ``required``, ``additionalProperties``, ``propertyNames``,
``items``, ``enum``, ``const``, ``anyOf``/``oneOf``/``allOf``, local ``$ref``, bounds, ``pattern``
and the ``uuid``/``date``/``date-time`` formats). A schema with a keyword outside that subset is
refused when loaded, so the fallback never passes a record it did not really check.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from uuid import UUID

#: Keywords that only annotate: they never make a document invalid.
_ANNOTATIONS = {"title", "description", "default", "examples", "$id", "$schema", "$comment", "deprecated"}
_ASSERTIONS = {
    "type", "properties", "required", "additionalProperties", "propertyNames", "items", "enum",
    "const", "anyOf", "oneOf", "allOf", "$ref", "$defs", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "minLength", "maxLength", "minItems", "maxItems", "pattern", "format",
}  # fmt: skip
_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _is_format(fmt: str, value: str) -> bool:
    try:
        if fmt == "uuid":
            UUID(value)
        elif fmt == "date":
            date.fromisoformat(value)
        elif fmt == "date-time":
            datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


class SchemaError(ValueError):
    """The document does not match the schema; ``str()`` says where and why."""


def _check_keywords(node: Any, where: str) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key.startswith("x-") or key in _ANNOTATIONS:
                continue
            if key not in _ASSERTIONS:
                raise NotImplementedError(f"{where}: keyword {key!r} is not supported without jsonschema")
            if key in ("properties", "$defs"):
                for name, sub in value.items():
                    _check_keywords(sub, f"{where}/{key}/{name}")
            else:
                _check_keywords(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, sub in enumerate(node):
            _check_keywords(sub, f"{where}/{i}")


class _Lite:
    def __init__(self, schema: dict[str, Any]) -> None:
        _check_keywords(schema, "#")
        self.root = schema

    def _ref(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            raise NotImplementedError(f"non-local $ref {ref}")
        node: Any = self.root
        for part in ref[2:].split("/"):
            node = node[part]
        return node

    def errors(self, schema: Any, value: Any, where: str) -> list[str]:
        if schema is True or schema == {}:
            return []
        if schema is False:
            return [f"{where}: not allowed"]
        out: list[str] = []
        if "$ref" in schema:
            out += self.errors(self._ref(schema["$ref"]), value, where)
        if "type" in schema:
            kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            if not any(_TYPES[k](value) for k in kinds):
                return [*out, f"{where}: expected {' or '.join(kinds)}, got {type(value).__name__}"]
        if "enum" in schema and value not in schema["enum"]:
            out.append(f"{where}: {value!r} is not one of {schema['enum']}")
        if "const" in schema and value != schema["const"]:
            out.append(f"{where}: must be {schema['const']!r}")
        for sub in schema.get("allOf", []):
            out += self.errors(sub, value, where)
        if "anyOf" in schema and all(self.errors(s, value, where) for s in schema["anyOf"]):
            out.append(f"{where}: matches none of anyOf")
        if "oneOf" in schema and sum(not self.errors(s, value, where) for s in schema["oneOf"]) != 1:
            out.append(f"{where}: must match exactly one of oneOf")
        if isinstance(value, dict):
            props = schema.get("properties", {})
            for name in schema.get("required", []):
                if name not in value:
                    out.append(f"{where}.{name}: required")
            for name, sub in value.items():
                if name in props:
                    out += self.errors(props[name], sub, f"{where}.{name}")
                elif "additionalProperties" in schema:
                    out += self.errors(schema["additionalProperties"], sub, f"{where}.{name}")
                if "propertyNames" in schema:
                    out += self.errors(schema["propertyNames"], name, f"{where}.{name} (name)")
        if isinstance(value, list):
            if "items" in schema:
                for i, sub in enumerate(value):
                    out += self.errors(schema["items"], sub, f"{where}[{i}]")
            if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", len(value)):
                out.append(f"{where}: wrong number of items")
        if isinstance(value, str):
            if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", len(value)):
                out.append(f"{where}: wrong length")
            if "pattern" in schema and not re.search(schema["pattern"], value):
                out.append(f"{where}: does not match {schema['pattern']}")
            if "format" in schema and not _is_format(schema["format"], value):
                out.append(f"{where}: not a valid {schema['format']}")
        if _TYPES["number"](value):
            if "minimum" in schema and value < schema["minimum"]:
                out.append(f"{where}: below {schema['minimum']}")
            if "maximum" in schema and value > schema["maximum"]:
                out.append(f"{where}: above {schema['maximum']}")
            if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
                out.append(f"{where}: not above {schema['exclusiveMinimum']}")
            if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
                out.append(f"{where}: not below {schema['exclusiveMaximum']}")
        return out


def validator(schema: dict[str, Any]) -> Callable[[Any], None]:
    """A function that raises :class:`SchemaError` when a document does not match ``schema``."""
    try:
        import jsonschema  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:
        lite = _Lite(schema)

        def check_lite(document: Any) -> None:
            errors = lite.errors(lite.root, document, "$")
            if errors:
                raise SchemaError("; ".join(errors))

        return check_lite

    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    full = cls(schema, format_checker=cls.FORMAT_CHECKER)

    def check_full(document: Any) -> None:
        errors = sorted(full.iter_errors(document), key=lambda e: list(e.path))
        if errors:
            raise SchemaError("; ".join(f"${''.join(f'.{p}' for p in e.path)}: {e.message}" for e in errors))

    return check_full

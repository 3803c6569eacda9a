"""The OpenAPI documents describe what the services answer (issue 12, item 6), and the committed
ones are the code's: built from the apps without Kafka or Postgres, so this runs in a second."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from shared import openapi

PROBLEM = {"$ref": "#/components/schemas/Problem"}


@pytest.fixture(scope="module")
def documents() -> dict[str, dict[str, Any]]:
    return {service: openapi.service_document(service) for service in openapi.SERVICES}


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, op in item.items():
            yield f"{method.upper()} {path}", op


def schemas(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from schemas(value)


def test_no_schema_puts_a_type_beside_a_ref(documents: dict[str, dict[str, Any]]) -> None:
    """``{"type": "string", "$ref": ...}`` (what paged lists had) matches no JSON object."""
    bad = [(s, n) for s, doc in documents.items() for n in schemas(doc) if "$ref" in n and "type" in n]
    assert not bad, bad[:5]
    page = documents["plans"]["paths"]["/v1/members"]["get"]["responses"]["200"]["content"]
    assert page["application/json"]["schema"] == {"$ref": "#/components/schemas/MemberPage"}


def test_invalid_input_is_documented_as_the_problem_we_send(documents: dict[str, dict[str, Any]]) -> None:
    problem = documents["plans"]["components"]["schemas"]["Problem"]
    assert problem["properties"]["errors"]["items"] == {"$ref": "#/components/schemas/ProblemField"}
    for service, doc in documents.items():
        assert "HTTPValidationError" not in doc["components"]["schemas"], service
        for name, op in operations(doc):
            for status, answer in op["responses"].items():
                if status.startswith("4") or (status == "503" and name != "GET /readyz"):
                    assert answer["content"] == {"application/problem+json": {"schema": PROBLEM}}, (
                        service,
                        name,
                        status,
                    )


def test_every_authenticated_operation_declares_bearer_401_and_403(
    documents: dict[str, dict[str, Any]],
) -> None:
    authenticated = 0
    for service, doc in documents.items():
        assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer", service
        for name, op in operations(doc):
            if op.get("security") == [{"bearer": []}]:
                authenticated += 1
                assert {"401", "403"} <= op["responses"].keys(), (service, name)
            if name.startswith(("POST", "PUT", "PATCH")) and "requestBody" in op:
                assert {"413", "422"} <= op["responses"].keys(), (service, name)
            if "{" in name:
                assert "404" in op["responses"], (service, name)
    assert authenticated >= 50  # the write routes and the staff reads
    comments = documents["consultation"]["paths"]["/v1/rounds/{round_id}/comments"]["post"]["responses"]
    assert "Retry-After" in comments["429"]["headers"]
    review = documents["irm"]["paths"]["/v1/reviews/{review_id}"]["get"]
    assert review["security"] == [{}, {"bearer": []}]  # public, a token sees more


def test_the_committed_documents_are_the_codes() -> None:
    """What `make schemas-check` runs: a change of an API is reviewed as a change of docs/openapi."""
    assert openapi.check() == []

"""The 201 of a posted input, written by hand, is the JSON ``json.dumps`` makes of the same dict
and has the documented shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

import pytest

from services.consultation.api_inputs import InputCreated, _created
from services.consultation.domain.inputs import Anchor, Input, Text
from shared.events.consultation import AnchorType, InputKind


@pytest.mark.parametrize("kind", list(InputKind))
@pytest.mark.parametrize(
    "created_at",
    [
        datetime(2026, 11, 30, 3, 4, 5, 678901, tzinfo=UTC),
        datetime(2026, 1, 2, tzinfo=timezone(timedelta(hours=1))),
    ],
)
def test_created_answer_is_the_json_of_the_dict(kind: InputKind, created_at: datetime) -> None:
    item = Input(
        uuid4(), kind, uuid4(), uuid4(), None, Anchor(AnchorType.PLAN), Text(None, "a text"), uuid4(),
        False, created_at, b"h", seq=9_007_199_254_740_993,
    )  # fmt: skip
    answer = _created(item)
    expected = {
        "id": str(item.id),
        "seq": item.seq,
        "kind": kind.value,
        "round_id": str(item.round_id),
        "created_at": created_at.isoformat(),
    }
    assert answer.status_code == 201
    assert answer.headers["content-type"] == "application/json"
    assert bytes(answer.body) == json.dumps(expected, separators=(",", ":")).encode()
    assert InputCreated.model_validate_json(bytes(answer.body)).seq == item.seq

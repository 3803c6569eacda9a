import json
from datetime import UTC, date, datetime
from uuid import uuid4

import pytest
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary_event

from shared.events.envelope import Envelope, PoisonMessage, PoisonReason, decode
from shared.events.plans import PlanSubmitted


def _event() -> PlanSubmitted:
    return PlanSubmitted(
        plan_id=uuid4(), member_id=uuid4(), title="Open contracting", start_date=date(2025, 1, 1),
        end_date=date(2027, 1, 1), commitment_count=3, point_of_contact_id=uuid4(),
        submitted_at=datetime(2025, 1, 2, tzinfo=UTC),
    )  # fmt: skip


def test_round_trip_keeps_type_key_and_data() -> None:
    ev = _event()
    rec = Envelope.wrap(ev, service="plans").to_record(
        {"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"}
    )
    assert rec.key == str(ev.plan_id).encode()
    got = decode(rec.headers, rec.value)
    assert got.event == ev
    assert got.type == "ogp.plans.plan_submitted.v1"
    assert got.subject == str(ev.plan_id)
    assert got.headers["traceparent"].startswith("00-aaaa")


def test_official_cloudevents_sdk_reads_our_binary_mode() -> None:
    ev = _event()
    rec = Envelope.wrap(ev, service="plans").to_record()
    ce = from_binary_event(KafkaMessage(headers=dict(rec.headers), key=rec.key, value=rec.value))
    assert ce.get_specversion() == "1.0"
    assert ce.get_type() == "ogp.plans.plan_submitted.v1"
    assert ce.get_source() == "/sharaka/plans"
    assert ce.get_subject() == str(ev.plan_id)
    assert ce.get_dataschema() == "urn:sharaka:schema:ogp.plans.plan_submitted.v1"
    assert ce.get_datacontenttype() == "application/json"
    data = ce.get_data()
    assert isinstance(data, dict)
    assert data["plan_id"] == str(ev.plan_id)


def _headers(**over: str) -> list[tuple[str, bytes]]:
    base = {
        "ce_specversion": "1.0",
        "ce_id": str(uuid4()),
        "ce_source": "/x",
        "ce_type": "ogp.plans.plan_submitted.v1",
    }
    base.update(over)
    return [(k, v.encode()) for k, v in base.items()]


@pytest.mark.parametrize(
    ("headers", "value", "reason"),
    [
        ([], b"{}", PoisonReason.MISSING_ATTRIBUTE),
        (_headers(ce_id="not-a-uuid"), b"{}", PoisonReason.MISSING_ATTRIBUTE),
        (_headers(), b"{not json", PoisonReason.INVALID_JSON),
        (_headers(ce_type="ogp.plans.unheard_of.v1"), b"{}", PoisonReason.UNKNOWN_TYPE),
        (_headers(), json.dumps({"plan_id": "x"}).encode(), PoisonReason.SCHEMA_INVALID),
    ],
)
def test_poison_is_named(headers: list[tuple[str, bytes]], value: bytes, reason: PoisonReason) -> None:
    with pytest.raises(PoisonMessage) as err:
        decode(headers, value)
    assert err.value.reason is reason


def test_schema_error_names_the_field() -> None:
    data = json.loads(_event().model_dump_json())
    data["commitment_count"] = "many"
    with pytest.raises(PoisonMessage) as err:
        decode(_headers(), json.dumps(data).encode())
    assert "commitment_count" in err.value.detail


def test_unknown_fields_are_ignored_for_forward_compatibility() -> None:
    data = json.loads(_event().model_dump_json())
    data["added_in_a_later_minor"] = 1
    assert decode(_headers(), json.dumps(data).encode()).event.title == "Open contracting"

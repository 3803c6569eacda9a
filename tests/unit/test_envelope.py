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


# --- who may say what (shared.events.catalog) ---------------------------------------------------


def test_every_topic_has_one_owner_and_every_contract_an_owner() -> None:
    from shared.events import topics
    from shared.events.base import event_types
    from shared.events.catalog import OWNERS, owner_of

    assert dict(OWNERS) == {
        "ogp.plans.v1": "plans",
        "sharaka.plans.contacts.v1": "plans",
        "ogp.consultation.v1": "consultation",
        "sharaka.consultation.contacts.v1": "consultation",
        "ogp.irm.v1": "irm",
        "ogp.notifications.v1": "notifications",
        "sharaka.privacy.erasures.v1": "notifications",
    }
    assert set(OWNERS) == {
        *topics.PUBLIC,
        topics.PLANS_CONTACTS,
        topics.CONSULTATION_CONTACTS,
        topics.ERASURES,
    }
    assert {t: owner_of(t) for t in event_types() if owner_of(t) is None} == {}
    assert owner_of("ogp.plans.plan_submitted.v1") == "plans"
    assert owner_of("sharaka.privacy.erasure_requested.v1") == "notifications"
    assert owner_of("ogp.plans.unheard_of.v1") is None


def test_the_owner_is_accepted_on_its_contract_topic() -> None:
    from shared.events.catalog import check_sender

    check_sender("ogp.plans.plan_submitted.v1", "/sharaka/plans", "ogp.plans.v1")
    check_sender(
        "sharaka.privacy.erasure_requested.v1", "/sharaka/notifications", "sharaka.privacy.erasures.v1"
    )
    check_sender(None, "/sharaka/plans", "sharaka.plans.contacts.v1")  # a tombstone naming its source
    check_sender(None, None, "sharaka.consultation.contacts.v1")  # one from before sources were stamped


@pytest.mark.parametrize(
    ("event_type", "source", "topic", "expected"),
    [
        ("ogp.plans.plan_submitted.v1", "/sharaka/consultation", "ogp.plans.v1", "/sharaka/plans"),
        ("ogp.plans.plan_submitted.v1", "/evil", "ogp.plans.v1", "/sharaka/plans"),
        ("ogp.plans.plan_submitted.v1", "/sharaka/plans", "ogp.consultation.v1", "/sharaka/plans"),
        ("sharaka.privacy.erasure_requested.v1", "/sharaka/consultation", "sharaka.privacy.erasures.v1",
         "/sharaka/notifications"),
        (None, "/sharaka/notifications", "sharaka.plans.contacts.v1", "/sharaka/plans"),
        (None, "/sharaka/plans", "some.topic.nobody.owns", ""),
    ],
)  # fmt: skip
def test_anyone_else_is_unexpected(event_type: str | None, source: str, topic: str, expected: str) -> None:
    from shared.events.catalog import check_sender

    with pytest.raises(PoisonMessage) as err:
        check_sender(event_type, source, topic)
    assert err.value.reason is PoisonReason.UNEXPECTED_SOURCE
    assert err.value.headers == {"dlq_expected_source": expected, "dlq_actual_source": source}
    assert topic in err.value.detail


def test_metric_labels_are_bounded_by_the_catalog() -> None:
    from shared.events.catalog import metric_type

    assert metric_type("ogp.plans.plan_submitted.v1") == "ogp.plans.plan_submitted.v1"
    assert metric_type("tombstone") == "tombstone"
    assert metric_type("ogp.plans.plan_submitted.v9") == "unknown"
    assert metric_type(f"x{uuid4()}") == "unknown"
    assert metric_type(None) == "unknown"
    assert metric_type("") == "unknown"

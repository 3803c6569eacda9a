"""The life of one delivery: pending → sent | failed, retries with back-off, explicit examples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from services.notifications.domain import (
    NO_EMAIL_ADDRESS,
    RECIPIENT_UNKNOWN,
    Claim,
    Delivery,
    DeliveryStatus,
    Problem,
    Recipient,
    RetryPolicy,
)
from shared.errors import Invalid, RuleViolation
from shared.events.notifications import Channel, DeliveryFailed, DeliverySent

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=3, backoff_initial_s=1.0, backoff_max_s=600.0)
SMTP_DOWN = Problem("ConnectionRefusedError: [Errno 111] Connect call failed")


def _delivery() -> Delivery:
    return Delivery.queue(
        cause_event_id=uuid4(),
        template="plan_submitted",
        plan_id=uuid4(),
        params={"submitted_on": "2025-03-01"},
    )


def test_a_queued_delivery_is_pending_untried_and_due() -> None:
    d = _delivery()
    assert (d.status, d.attempts, d.last_error, d.sent_at, d.channel) == (
        DeliveryStatus.PENDING, 0, None, None, Channel.EMAIL,
    )  # fmt: skip
    assert d.next_attempt_at is None  # due at once (the database stamps the time)


def test_a_delivery_needs_a_known_template() -> None:
    with pytest.raises(Invalid) as err:
        Delivery.queue(cause_event_id=uuid4(), template="no_such_template", plan_id=uuid4())
    assert err.value.errors[0][0] == "template"


def test_a_delivery_needs_a_recipient_or_a_plan() -> None:
    with pytest.raises(RuleViolation) as err:
        Delivery.queue(cause_event_id=uuid4(), template="plan_submitted")
    assert err.value.rule == "delivery.addressee_required"


def test_what_stops_an_attempt() -> None:
    d = _delivery()
    assert d.problem_with(None) is RECIPIENT_UNKNOWN
    assert not RECIPIENT_UNKNOWN.final  # the contact may arrive on its own topic later
    assert d.problem_with(Recipient(uuid4(), "Nadia", email=None)) is NO_EMAIL_ADDRESS
    assert d.problem_with(Recipient(uuid4(), "Nadia", email="")) is NO_EMAIL_ADDRESS
    assert NO_EMAIL_ADDRESS.final
    assert d.problem_with(Recipient(uuid4(), "Nadia", email="n@example.org")) is None


def test_sent_records_the_attempt_and_announces_it() -> None:
    d = _delivery()
    recipient_id = uuid4()
    d.attempt_failed(
        Problem("SMTPServerDisconnected: gone"), recipient_id=recipient_id, now=NOW, policy=POLICY
    )

    events = d.sent(recipient_id=recipient_id, now=NOW)

    assert (d.status, d.attempts, d.sent_at, d.last_error) == (DeliveryStatus.SENT, 2, NOW, None)
    assert events == [
        DeliverySent(
            delivery_id=d.id, recipient_id=recipient_id, channel=Channel.EMAIL, template="plan_submitted",
            cause_event_id=d.cause_event_id, attempts=2, sent_at=NOW,
        )
    ]  # fmt: skip


def test_a_passing_problem_is_retried_with_doubling_backoff_then_given_up() -> None:
    d = _delivery()
    recipient_id = uuid4()

    assert d.attempt_failed(SMTP_DOWN, recipient_id=recipient_id, now=NOW, policy=POLICY) == []
    assert (d.status, d.attempts, d.next_attempt_at) == (
        DeliveryStatus.PENDING,
        1,
        NOW + timedelta(seconds=1),
    )
    assert d.last_error == SMTP_DOWN.reason

    later = NOW + timedelta(seconds=1)
    assert d.attempt_failed(SMTP_DOWN, recipient_id=recipient_id, now=later, policy=POLICY) == []
    assert (d.status, d.attempts, d.next_attempt_at) == (
        DeliveryStatus.PENDING,
        2,
        later + timedelta(seconds=2),
    )

    last = later + timedelta(seconds=2)
    [event] = d.attempt_failed(SMTP_DOWN, recipient_id=recipient_id, now=last, policy=POLICY)
    assert (d.status, d.attempts) == (DeliveryStatus.FAILED, 3)
    assert event == DeliveryFailed(
        delivery_id=d.id, recipient_id=recipient_id, channel=Channel.EMAIL, template="plan_submitted",
        cause_event_id=d.cause_event_id, attempts=3, failed_at=last, reason=SMTP_DOWN.reason,
    )  # fmt: skip


def test_no_email_address_fails_at_the_first_attempt() -> None:
    d = _delivery()
    recipient_id = uuid4()
    [event] = d.attempt_failed(NO_EMAIL_ADDRESS, recipient_id=recipient_id, now=NOW, policy=POLICY)
    assert (d.status, d.attempts, d.last_error) == (
        DeliveryStatus.FAILED, 1, "recipient has no e-mail address",
    )  # fmt: skip
    assert isinstance(event, DeliveryFailed)
    assert (event.recipient_id, event.reason, event.attempts) == (
        recipient_id, "recipient has no e-mail address", 1,
    )  # fmt: skip


def test_an_unknown_recipient_is_waited_for_and_giving_up_names_no_one() -> None:
    d = _delivery()
    for _ in range(POLICY.max_attempts - 1):
        assert d.attempt_failed(RECIPIENT_UNKNOWN, recipient_id=None, now=NOW, policy=POLICY) == []
        assert d.status is DeliveryStatus.PENDING
    # The last attempt gives up; DeliveryFailed names a recipient, and there is none to name.
    assert d.attempt_failed(RECIPIENT_UNKNOWN, recipient_id=None, now=NOW, policy=POLICY) == []
    assert (d.status, d.attempts, d.last_error) == (DeliveryStatus.FAILED, 3, "recipient not known yet")


def test_a_contact_known_by_id_only_is_named_when_giving_up() -> None:
    d = _delivery()
    contact_id = uuid4()  # the plan names its contact, whose ContactRegistered never came
    policy = RetryPolicy(max_attempts=1)
    [event] = d.attempt_failed(RECIPIENT_UNKNOWN, recipient_id=contact_id, now=NOW, policy=policy)
    assert isinstance(event, DeliveryFailed)
    assert (event.recipient_id, event.reason) == (contact_id, "recipient not known yet")


@pytest.mark.parametrize("settle", ["sent", "failed"])
def test_a_settled_delivery_takes_no_further_outcome(settle: str) -> None:
    d = _delivery()
    if settle == "sent":
        d.sent(recipient_id=uuid4(), now=NOW)
    else:
        d.attempt_failed(NO_EMAIL_ADDRESS, recipient_id=uuid4(), now=NOW, policy=POLICY)
    with pytest.raises(RuleViolation) as err:
        d.sent(recipient_id=uuid4(), now=NOW)
    assert err.value.rule == "delivery.settled"
    with pytest.raises(RuleViolation):
        d.attempt_failed(SMTP_DOWN, recipient_id=uuid4(), now=NOW, policy=POLICY)


@pytest.mark.parametrize(
    ("attempts", "seconds"),
    [(1, 1), (2, 2), (3, 4), (4, 8), (10, 512), (11, 600), (30, 600)],
)
def test_backoff_doubles_up_to_its_cap(attempts: int, seconds: float) -> None:
    policy = RetryPolicy(max_attempts=50, backoff_initial_s=1.0, backoff_max_s=600.0)
    assert policy.backoff(attempts) == timedelta(seconds=seconds)


def test_the_message_params_add_name_and_plan_title() -> None:
    d = _delivery()
    claim = Claim(
        d, uuid4(), uuid4(), Recipient(uuid4(), "Nadia", email="n@example.org"), "Open justice plan"
    )
    assert claim.message_params() == {
        "submitted_on": "2025-03-01", "name": "Nadia", "plan_title": "Open justice plan",
    }  # fmt: skip
    untitled = Claim(d, uuid4(), uuid4(), Recipient(uuid4(), "Nadia"), None)
    assert untitled.message_params()["plan_title"] == ""

"""The life of one delivery: pending → sent | failed, retries with back-off, what stops an attempt,
the channel fitted to the person, and the SMS gateway's later word."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from services.notifications.domain.deliveries import (
    CONFIRMATION,
    DIGEST,
    NO_EMAIL_ADDRESS,
    NO_PHONE_NUMBER,
    NO_SMS_GATEWAY,
    OPTED_OUT,
    RECIPIENT_UNKNOWN,
    Claim,
    Delivery,
    DeliveryStatus,
    Problem,
    RetryPolicy,
    is_template,
)
from services.notifications.domain.recipients import Recipient
from shared.errors import Invalid, RuleViolation
from shared.events.notifications import Channel, DeliveryFailed, DeliverySent

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=3, backoff_initial_s=1.0, backoff_max_s=600.0)
SMTP_DOWN = Problem("ConnectionRefusedError: [Errno 111] Connect call failed")
RID = uuid4()


def _delivery(
    channel: Channel = Channel.EMAIL, template: str = "plan_submitted", recipient_id: UUID | None = RID
) -> Delivery:
    return Delivery.queue(
        cause_event_id=uuid4(), template=template, channel=channel, recipient_id=recipient_id,
        plan_id=uuid4(), params={"submitted_on": "2025-03-01"},
    )  # fmt: skip


def _person(**kw: object) -> Recipient:
    values: dict[str, object] = {"email": "n@example.org", "phone": "+21620123456"} | kw
    return Recipient(RID, "Nadia", **values)  # type: ignore[arg-type]


# --- queueing -----------------------------------------------------------------------------------
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


def test_the_service_s_own_messages_are_templates_too() -> None:
    assert is_template(DIGEST) and is_template(CONFIRMATION) and is_template("plan_submitted")
    assert not is_template("plan_created")


def test_a_delivery_needs_a_recipient_or_a_plan() -> None:
    with pytest.raises(RuleViolation) as err:
        Delivery.queue(cause_event_id=uuid4(), template="plan_submitted")
    assert err.value.rule == "delivery.addressee_required"


# --- before an attempt --------------------------------------------------------------------------
def test_what_stops_an_email() -> None:
    d = _delivery()
    assert d.problem_with(None) is RECIPIENT_UNKNOWN
    assert not RECIPIENT_UNKNOWN.final  # the contact may arrive on its own topic later
    assert d.problem_with(_person(email=None)) is NO_EMAIL_ADDRESS
    assert d.problem_with(_person(email="")) is NO_EMAIL_ADDRESS
    assert d.problem_with(_person(email_opt_out_at=NOW)) is OPTED_OUT
    assert d.problem_with(_person(sms_opt_out_at=NOW)) is None  # another channel's opt-out
    assert d.problem_with(_person(), sms_gateway=False) is None
    assert NO_EMAIL_ADDRESS.final and OPTED_OUT.final


def test_what_stops_an_sms() -> None:
    d = _delivery(Channel.SMS)
    assert d.problem_with(_person(phone=None)) is NO_PHONE_NUMBER
    assert d.problem_with(_person(sms_opt_out_at=NOW)) is OPTED_OUT
    assert d.problem_with(_person(), sms_gateway=False) is NO_SMS_GATEWAY
    assert d.problem_with(_person(email_opt_out_at=NOW)) is None
    assert NO_PHONE_NUMBER.final and NO_SMS_GATEWAY.final


@pytest.mark.parametrize("channel", list(Channel))
def test_the_confirmation_ignores_an_opt_out(channel: Channel) -> None:
    """Asking to follow again after unsubscribing must be able to reach the person."""
    d = _delivery(channel, template=CONFIRMATION)
    assert d.problem_with(_person(email_opt_out_at=NOW, sms_opt_out_at=NOW)) is None


@pytest.mark.parametrize(
    ("channel", "email", "phone", "fitted"),
    [
        (Channel.EMAIL, None, "+21620123456", Channel.SMS),  # phone only: SMS instead of never
        (Channel.EMAIL, "n@example.org", "+21620123456", Channel.EMAIL),
        (Channel.EMAIL, None, None, Channel.EMAIL),  # nothing to switch to: fails as no e-mail
        (Channel.SMS, "n@example.org", None, Channel.SMS),  # never the other way round
    ],
)
def test_fit_to_switches_an_email_to_sms_only_for_a_phone_only_person(
    channel: Channel, email: str | None, phone: str | None, fitted: Channel
) -> None:
    d = _delivery(channel)
    d.fit_to(_person(email=email, phone=phone))
    assert d.channel is fitted


# --- outcomes -----------------------------------------------------------------------------------
def test_sent_records_the_attempt_and_announces_it() -> None:
    d = _delivery()
    d.attempt_failed(SMTP_DOWN, recipient_id=RID, now=NOW, policy=POLICY)

    events = d.sent(recipient_id=RID, now=NOW, provider_id="SM1")

    assert (d.status, d.attempts, d.sent_at, d.last_error, d.provider_id) == (
        DeliveryStatus.SENT, 2, NOW, None, "SM1",
    )  # fmt: skip
    assert events == [
        DeliverySent(
            delivery_id=d.id, recipient_id=RID, channel=Channel.EMAIL, template="plan_submitted",
            cause_event_id=d.cause_event_id, attempts=2, sent_at=NOW,
        )
    ]  # fmt: skip


def test_a_passing_problem_is_retried_with_doubling_backoff_then_given_up() -> None:
    d = _delivery()
    at = NOW
    for attempt, wait in ((1, 1), (2, 2)):
        assert d.attempt_failed(SMTP_DOWN, recipient_id=RID, now=at, policy=POLICY) == []
        assert (d.status, d.attempts, d.next_attempt_at) == (
            DeliveryStatus.PENDING, attempt, at + timedelta(seconds=wait),
        )  # fmt: skip
        assert d.last_error == SMTP_DOWN.reason
        at += timedelta(seconds=wait)

    [event] = d.attempt_failed(SMTP_DOWN, recipient_id=RID, now=at, policy=POLICY)
    assert (d.status, d.attempts) == (DeliveryStatus.FAILED, 3)
    assert event == DeliveryFailed(
        delivery_id=d.id, recipient_id=RID, channel=Channel.EMAIL, template="plan_submitted",
        cause_event_id=d.cause_event_id, attempts=3, failed_at=at, reason=SMTP_DOWN.reason,
    )  # fmt: skip


def test_a_final_problem_fails_at_the_first_attempt() -> None:
    d = _delivery()
    [event] = d.attempt_failed(NO_EMAIL_ADDRESS, recipient_id=RID, now=NOW, policy=POLICY)
    assert (d.status, d.attempts, d.last_error) == (
        DeliveryStatus.FAILED,
        1,
        "recipient has no e-mail address",
    )
    assert isinstance(event, DeliveryFailed)
    assert (event.recipient_id, event.reason, event.attempts) == (RID, "recipient has no e-mail address", 1)


def test_an_unknown_recipient_is_waited_for_and_giving_up_names_no_one() -> None:
    d = _delivery(recipient_id=None)
    for _ in range(POLICY.max_attempts - 1):
        assert d.attempt_failed(RECIPIENT_UNKNOWN, recipient_id=None, now=NOW, policy=POLICY) == []
        assert d.status is DeliveryStatus.PENDING
    # The last attempt gives up; DeliveryFailed names a recipient, and there is none to name.
    assert d.attempt_failed(RECIPIENT_UNKNOWN, recipient_id=None, now=NOW, policy=POLICY) == []
    assert (d.status, d.attempts, d.last_error) == (DeliveryStatus.FAILED, 3, "recipient not known yet")


def test_a_person_known_by_id_only_is_named_when_giving_up() -> None:
    d = _delivery()  # the event named them; their details never came
    [event] = d.attempt_failed(
        RECIPIENT_UNKNOWN, recipient_id=RID, now=NOW, policy=RetryPolicy(max_attempts=1)
    )
    assert isinstance(event, DeliveryFailed)
    assert (event.recipient_id, event.reason) == (RID, "recipient not known yet")


def test_quiet_hours_hold_a_delivery_without_counting_an_attempt() -> None:
    d = _delivery(Channel.SMS)
    d.hold_until(NOW + timedelta(hours=8))
    assert (d.status, d.attempts, d.next_attempt_at, d.last_error) == (
        DeliveryStatus.PENDING, 0, NOW + timedelta(hours=8), None,
    )  # fmt: skip


@pytest.mark.parametrize("settle", ["sent", "failed"])
def test_a_settled_delivery_takes_no_further_outcome(settle: str) -> None:
    d = _delivery()
    if settle == "sent":
        d.sent(recipient_id=RID, now=NOW)
    else:
        d.attempt_failed(NO_EMAIL_ADDRESS, recipient_id=RID, now=NOW, policy=POLICY)
    with pytest.raises(RuleViolation) as err:
        d.sent(recipient_id=RID, now=NOW)
    assert err.value.rule == "delivery.settled"
    with pytest.raises(RuleViolation):
        d.attempt_failed(SMTP_DOWN, recipient_id=RID, now=NOW, policy=POLICY)
    with pytest.raises(RuleViolation):
        d.hold_until(NOW)


@pytest.mark.parametrize(
    ("attempts", "seconds"),
    [(1, 1), (2, 2), (3, 4), (4, 8), (10, 512), (11, 600), (30, 600)],
)
def test_backoff_doubles_up_to_its_cap(attempts: int, seconds: float) -> None:
    policy = RetryPolicy(max_attempts=50, backoff_initial_s=1.0, backoff_max_s=600.0)
    assert policy.backoff(attempts) == timedelta(seconds=seconds)


# --- the gateway's later word -------------------------------------------------------------------
def _sent_sms(recipient_id: UUID | None = RID) -> Delivery:
    d = _delivery(Channel.SMS, recipient_id=recipient_id)
    d.sent(recipient_id=recipient_id or RID, now=NOW, provider_id="SM1")
    return d


@pytest.mark.parametrize("status", ["queued", "sent", "delivered"])
def test_a_gateway_status_short_of_failure_is_only_recorded(status: str) -> None:
    d = _sent_sms()
    assert d.gateway_reported(status, None, now=NOW) == []
    assert (d.status, d.provider_status) == (DeliveryStatus.SENT, status)


@pytest.mark.parametrize("status", ["failed", "undelivered"])
def test_a_message_the_gateway_could_not_deliver_is_failed_after_all(status: str) -> None:
    d = _sent_sms()
    later = NOW + timedelta(minutes=1)
    [event] = d.gateway_reported(status, "30003", now=later)
    assert (d.status, d.provider_status, d.last_error) == (
        DeliveryStatus.FAILED, status, f"gateway reported {status} (30003)",
    )  # fmt: skip
    assert isinstance(event, DeliveryFailed)
    assert (event.delivery_id, event.recipient_id, event.failed_at, event.channel) == (
        d.id, RID, later, Channel.SMS,
    )  # fmt: skip
    assert d.gateway_reported(status, "30003", now=later) == []  # said once


def test_a_failure_report_for_a_delivery_not_sent_changes_only_the_status_seen() -> None:
    d = _delivery(Channel.SMS)
    assert d.gateway_reported("failed", None, now=NOW) == []
    assert (d.status, d.provider_status, d.last_error) == (DeliveryStatus.PENDING, "failed", None)


def test_a_failure_report_without_a_recipient_fails_silently() -> None:
    d = _sent_sms(recipient_id=None)
    assert d.gateway_reported("undelivered", None, now=NOW) == []
    assert (d.status, d.last_error) == (DeliveryStatus.FAILED, "gateway reported undelivered")


# --- claims -------------------------------------------------------------------------------------
def test_the_message_params_add_the_plan_title_unless_the_delivery_has_one() -> None:
    d = _delivery()
    claim = Claim(d, uuid4(), RID, _person(), "Open justice plan")
    assert claim.message_params() == {"submitted_on": "2025-03-01", "plan_title": "Open justice plan"}
    assert Claim(d, uuid4(), RID, _person(), None).message_params()["plan_title"] == ""
    d.params["plan_title"] = "As fanned out"
    assert claim.message_params()["plan_title"] == "As fanned out"

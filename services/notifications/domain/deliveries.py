"""The life of one delivery, free of I/O.

A :class:`Delivery` starts ``pending``; each attempt ends in one of three ways, each a method that
changes the delivery and returns the events it causes:

* :meth:`Delivery.sent`: the gateway took the message → ``sent`` and :class:`DeliverySent`;
* :meth:`Delivery.attempt_failed` with a passing problem (SMTP down, recipient not learnt yet) →
  still ``pending``, tried again after an exponential back-off, no event;
* the same after ``max_attempts`` attempts, or with a problem that no retry will fix (the
  recipient has no e-mail address) → ``failed`` and :class:`DeliveryFailed` (when the recipient
  is known: the event names recipients by id only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from services.notifications.domain.recipients import Recipient
from services.notifications.messages import TEMPLATES
from shared.errors import Invalid, RuleViolation
from shared.events.base import Event
from shared.events.notifications import Channel, DeliveryFailed, DeliverySent


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Problem:
    """Why an attempt did not deliver; ``final`` when retrying cannot help."""

    reason: str
    final: bool = False


#: No ``ContactRegistered`` yet for the plan's point of contact: it may arrive on its own topic.
RECIPIENT_UNKNOWN = Problem("recipient not known yet")
#: The contact is known but cannot be e-mailed; a retry would not change that.
NO_EMAIL_ADDRESS = Problem("recipient has no e-mail address", final=True)
NO_PHONE_NUMBER = Problem("recipient has no phone number", final=True)
NO_SMS_GATEWAY = Problem("no SMS gateway", final=True)
OPTED_OUT = Problem("recipient opted out of this channel", final=True)
RECIPIENT_ERASED = Problem("recipient erased", final=True)

#: Messages the service makes itself, besides one per kind of event.
DIGEST = "digest"
CONFIRMATION = "subscription_confirm"


def is_template(name: str) -> bool:
    return name in TEMPLATES or name in (DIGEST, CONFIRMATION)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 8
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 600.0

    def backoff(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed attempt: doubling, capped."""
        seconds = self.backoff_initial_s * 2 ** max(attempts - 1, 0)
        return timedelta(seconds=min(seconds, self.backoff_max_s))


@dataclass(slots=True)
class Delivery:
    """One message to send for one event, to a known recipient or to a plan's point of contact
    (resolved when sending, so a contact learned after the event still gets it)."""

    id: UUID
    cause_event_id: UUID
    template: str
    channel: Channel
    recipient_id: UUID | None
    plan_id: UUID | None
    params: dict[str, str] = field(default_factory=dict)
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    sent_at: datetime | None = None
    #: The gateway's id for the message (SMS), and the last status it reported.
    provider_id: str | None = None
    provider_status: str | None = None

    @classmethod
    def queue(
        cls,
        *,
        cause_event_id: UUID,
        template: str,
        channel: Channel = Channel.EMAIL,
        recipient_id: UUID | None = None,
        plan_id: UUID | None = None,
        params: dict[str, str] | None = None,
    ) -> Delivery:
        """A new pending delivery, due at once. Queuing causes no event: only the outcome does."""
        if not is_template(template):
            raise Invalid("template", f"no template named {template!r}")
        if recipient_id is None and plan_id is None:
            raise RuleViolation(
                "delivery.addressee_required", "a delivery needs a recipient or a plan whose contact to tell"
            )
        return cls(
            id=uuid4(),
            cause_event_id=cause_event_id,
            template=template,
            channel=channel,
            recipient_id=recipient_id,
            plan_id=plan_id,
            params=dict(params or {}),
        )

    # --- before an attempt -------------------------------------------------------------------
    def fit_to(self, recipient: Recipient) -> None:
        """A message queued before its addressee was known goes by e-mail; a person who turns out
        to have a phone and no e-mail address gets it by SMS instead of never."""
        if self.channel is Channel.EMAIL and not recipient.email and recipient.phone:
            self.channel = Channel.SMS

    def problem_with(self, recipient: Recipient | None, *, sms_gateway: bool = True) -> Problem | None:
        """What stops sending to ``recipient`` (the resolved addressee) right now, if anything."""
        if recipient is None:
            return RECIPIENT_UNKNOWN
        if self.channel is Channel.EMAIL:
            if not recipient.email:
                return NO_EMAIL_ADDRESS
            if recipient.email_opt_out_at is not None and self.template != CONFIRMATION:
                return OPTED_OUT
        else:
            if not recipient.phone:
                return NO_PHONE_NUMBER
            if recipient.sms_opt_out_at is not None and self.template != CONFIRMATION:
                return OPTED_OUT
            if not sms_gateway:
                return NO_SMS_GATEWAY
        return None

    def hold_until(self, until: datetime) -> None:
        """Not now (the person's quiet hours): due again at ``until``; no attempt is counted."""
        self._still_pending()
        self.next_attempt_at = until

    # --- outcomes of an attempt --------------------------------------------------------------
    def sent(self, *, recipient_id: UUID, now: datetime, provider_id: str | None = None) -> list[Event]:
        self._still_pending()
        self.attempts += 1
        self.status = DeliveryStatus.SENT
        self.sent_at = now
        self.last_error = None
        self.provider_id = provider_id
        return [DeliverySent(recipient_id=recipient_id, sent_at=now, **self._event_fields())]

    def gateway_reported(self, status: str, error: str | None, *, now: datetime) -> list[Event]:
        """The SMS gateway's later word on a message it took: a message it could not deliver
        after all is failed (and said so); other statuses are only recorded."""
        self.provider_status = status
        if status not in ("failed", "undelivered") or self.status is not DeliveryStatus.SENT:
            return []
        self.status = DeliveryStatus.FAILED
        self.last_error = f"gateway reported {status}" + (f" ({error})" if error else "")
        if self.recipient_id is None:
            return []
        return [DeliveryFailed(recipient_id=self.recipient_id, failed_at=now, reason=self.last_error,
                               **self._event_fields())]  # fmt: skip

    def attempt_failed(
        self, problem: Problem, *, recipient_id: UUID | None, now: datetime, policy: RetryPolicy
    ) -> list[Event]:
        """Count the attempt; retry later, or give up when the problem is final or the attempts
        are used up. Giving up is reported only when there is a recipient to name."""
        self._still_pending()
        self.attempts += 1
        self.last_error = problem.reason
        if not problem.final and self.attempts < policy.max_attempts:
            self.next_attempt_at = now + policy.backoff(self.attempts)
            return []
        self.status = DeliveryStatus.FAILED
        if recipient_id is None:
            return []
        return [
            DeliveryFailed(
                recipient_id=recipient_id, failed_at=now, reason=problem.reason, **self._event_fields()
            )
        ]

    def _still_pending(self) -> None:
        if self.status is not DeliveryStatus.PENDING:
            raise RuleViolation("delivery.settled", f"delivery {self.id} is already {self.status.value}")

    def _event_fields(self) -> dict[str, Any]:
        return {
            "delivery_id": self.id,
            "channel": self.channel,
            "template": self.template,
            "cause_event_id": self.cause_event_id,
            "attempts": self.attempts,
        }


@dataclass(slots=True)
class Claim:
    """A delivery a worker took from the queue for a while (``token`` proves the lease is still
    its own when it records the outcome), with what it needs to send it."""

    delivery: Delivery
    token: UUID
    #: The addressee: the delivery's own recipient, else the plan's point of contact.
    recipient_id: UUID | None
    recipient: Recipient | None
    plan_title: str | None
    #: For a digest: the events it carries, oldest first.
    items: list[DigestEntry] = field(default_factory=list)

    def message_params(self) -> dict[str, str]:
        """The template's values (a delivery queued before issue 10 may lack the plan's title)."""
        return {"plan_title": self.plan_title or "", **self.delivery.params}


@dataclass(frozen=True, slots=True)
class DigestEntry:
    template: str
    params: dict[str, str]
    at: datetime

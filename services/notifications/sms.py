"""The SMS channel: hands a text to a provider's HTTP API and reads what the provider posts back.

Two provider shapes: Twilio's Programmable Messaging API (also spoken by several others) and a
generic signed JSON webhook for an in-country gateway. Everything that only parses or checks
(segments, numbers, signatures, callbacks) is a pure function here, so the HTTP routes and the
delivery worker share one reading of the provider. Phone numbers are personal data: they are
never logged and never put in an exception message (which ends up in logs and delivery rows).
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import math
import re
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from hashlib import sha1, sha256
from typing import Any, Protocol
from urllib.parse import quote, urlsplit, urlunsplit
from uuid import UUID

import httpx
import phonenumbers

from services.notifications.settings import NotificationsSettings

RECIPIENT = "<recipient>"


@dataclass(frozen=True, slots=True)
class SmsMessage:
    delivery_id: UUID
    to: str  # E.164
    body: str


@dataclass(frozen=True, slots=True)
class SmsAccepted:
    provider_id: str
    segments: int


class SmsError(Exception):
    """A send the provider did not accept.

    ``final`` is True when retrying cannot help (the provider refused the request itself, e.g.
    an invalid number), False for what may pass later (5xx, 429, timeouts, connection errors).
    ``retry_after`` is the provider's hint in seconds, when it gave one.
    """

    def __init__(
        self, message: str, *, final: bool, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.final = final
        self.status = status
        self.retry_after = retry_after


# --- segments -------------------------------------------------------------------------------

# GSM 03.38: the default alphabet (one septet each) and its extension table (escape + one).
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("\f^{}\\[~]|€")


@dataclass(frozen=True, slots=True)
class Segments:
    encoding: str  # "gsm7" | "ucs2"
    count: int


def count_segments(text: str) -> Segments:
    """How many SMS a text costs, as a handset or gateway splits it.

    A multipart message gives up room for its header (153 septets or 67 UTF-16 units a part
    instead of 160 or 70), and encoders never split an escape pair or a surrogate pair across
    parts, so the count packs greedily rather than dividing.
    """
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENSION for ch in text):
        widths = [2 if ch in _GSM_EXTENSION else 1 for ch in text]
        return Segments("gsm7", _pack(widths, single=160, part=153))
    widths = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    return Segments("ucs2", _pack(widths, single=70, part=67))


def _pack(widths: list[int], *, single: int, part: int) -> int:
    if sum(widths) <= single:
        return 1
    count, used = 1, 0
    for width in widths:
        if used + width > part:
            count, used = count + 1, 0
        used += width
    return count


# --- phone numbers --------------------------------------------------------------------------


def normalise_phone(raw: str) -> str:
    """E.164 (``+33612345678``) from what a person typed, spaces and dashes allowed.

    No region is guessed: a number without ``+`` and its country code is refused, since the
    platform serves many countries and a wrong guess texts a stranger.
    """
    text = raw.strip()
    if not text.startswith("+"):
        raise ValueError("a phone number must start with + and its country code (E.164, e.g. +33612345678)")
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number (expected E.164, e.g. +33612345678)") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number for its country code")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


# --- sending --------------------------------------------------------------------------------


class SmsGateway(Protocol):
    async def send(self, message: SmsMessage) -> SmsAccepted: ...

    async def aclose(self) -> None: ...


class TokenBucket:
    """At most ``rate`` acquisitions a second after an initial ``burst``, across all callers.

    Providers reject (429) or silently queue above the account's rate; pacing here keeps the
    worker's concurrent senders inside it. The lock is FIFO, so waiters go in arrival order.
    """

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self._rate = rate
        self._burst = burst if burst is not None else max(1.0, rate)
        self._tokens = self._burst
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
                self._stamp = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self._rate)


def _lanes_for(rate_per_s: float) -> int:
    """Requests open at once: enough to keep up the rate at a provider latency of 500 ms."""
    return max(4, min(32, math.ceil(rate_per_s / 2)))


class _HttpGateway:
    """What both providers share: the connections, the rate limit and the error taxonomy.

    Connections are lanes: httpx clients of one keep-alive connection each, shared by all sends
    and handed out first come, first served. One client with many connections would be simpler,
    but httpx's pool slows down sharply as it grows (against the local gateway, 16 connections in
    one client carry a third of what 16 one-connection clients do), and the benchmark needs
    hundreds of texts a second.
    """

    name = "sms"

    def __init__(
        self,
        settings: NotificationsSettings,
        *,
        max_in_flight: int | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._s = settings
        self._public = settings.public_url.rstrip("/")
        self._bucket = TokenBucket(settings.sms_rate_per_s)
        tls = httpx.create_ssl_context()  # loading the CA bundle once, not once a lane
        one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        self._clients = [
            httpx.AsyncClient(timeout=settings.sms_timeout_s, limits=one, verify=tls, transport=transport)
            for _ in range(max_in_flight or _lanes_for(settings.sms_rate_per_s))
        ]
        self._lanes: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
        for client in self._clients:
            self._lanes.put_nowait(client)

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()

    async def _post(self, url: str, **kwargs: Any) -> httpx.Response:
        # A lane first, then the token: requests then leave at the bucket's pace, never in a bunch.
        client = await self._lanes.get()
        try:
            await self._bucket.acquire()
            response = await client.post(url, **kwargs)
        except httpx.TimeoutException:
            raise SmsError(f"{self.name}: no answer within {self._s.sms_timeout_s}s", final=False) from None
        except httpx.HTTPError as exc:
            reason = type(exc).__name__
            raise SmsError(f"{self.name}: could not reach the gateway ({reason})", final=False) from None
        finally:
            self._lanes.put_nowait(client)
        if response.is_success:
            return response
        raise _refused(self.name, response)

    def _answer(self, response: httpx.Response, key: str) -> str:
        """The provider's id for the text; a 2xx without one means ``sms_url`` is not that provider."""
        try:
            value = response.json()[key]
        except (ValueError, KeyError, TypeError):
            value = None
        if value is None or value == "":
            raise SmsError(
                f"{self.name}: answered {response.status_code} without {key!r}; is sms_url right?",
                final=True,
                status=response.status_code,
            )
        return str(value)


def _refused(provider: str, response: httpx.Response) -> SmsError:
    """The error for a non-2xx answer. Only the status and the provider's error code are kept:
    providers echo the number in their messages ("The 'To' number +33… is not valid")."""
    status = response.status_code
    code: Any = None
    try:
        payload = response.json()
        if isinstance(payload, dict):
            code = payload.get("code") or payload.get("error")
    except ValueError:
        pass
    detail = f" (code {code})" if _is_code(code) else ""
    transient = status >= 500 or status in (408, 425, 429)
    retry_after = _seconds(response.headers.get("retry-after"))
    return SmsError(
        f"{provider}: answered {status}{detail} for {RECIPIENT}",
        final=not transient,
        status=status,
        retry_after=retry_after,
    )


_CODE = re.compile(r"[A-Za-z0-9_.\-]{1,40}")


def _is_code(value: Any) -> bool:
    """An error code such as 21211 or "invalid_number", and nothing that could hold a number."""
    text = str(value)
    return (
        isinstance(value, int | str)
        and _CODE.fullmatch(text) is not None
        and sum(ch.isdigit() for ch in text) <= 6
    )


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date; rare enough to fall back on the worker's own backoff


class TwilioGateway(_HttpGateway):
    """Twilio's Messages API: form-encoded, HTTP basic auth, 201 with the message ``sid``."""

    name = "twilio"

    async def send(self, message: SmsMessage) -> SmsAccepted:
        s = self._s
        sid = s.sms_account_sid
        url = f"{s.sms_url.rstrip('/')}/2010-04-01/Accounts/{quote(sid, safe='')}/Messages.json"
        form = {
            "To": message.to,
            "From": s.sms_from,
            "Body": message.body,
            "StatusCallback": f"{self._public}/v1/sms/status/twilio",
        }
        response = await self._post(url, data=form, auth=(sid, s.sms_auth_token.get_secret_value()))
        return SmsAccepted(self._answer(response, "sid"), count_segments(message.body).count)


class WebhookGateway(_HttpGateway):
    """A generic gateway: one signed JSON POST, 2xx with the gateway's ``id``."""

    name = "webhook"

    async def send(self, message: SmsMessage) -> SmsAccepted:
        s = self._s
        payload = {
            "to": message.to,
            "from": s.sms_from,
            "body": message.body,
            "reference": str(message.delivery_id),
            "status_url": f"{self._public}/v1/sms/status/webhook",
        }
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            "content-type": "application/json",
            "x-sharaka-signature": webhook_signature(s.sms_webhook_secret.get_secret_value(), body),
        }
        response = await self._post(s.sms_url, content=body, headers=headers)
        return SmsAccepted(self._answer(response, "id"), count_segments(message.body).count)


def gateway_from(settings: NotificationsSettings) -> SmsGateway | None:
    """The configured gateway, or None when SMS is switched off (``sms_provider=none``)."""
    if settings.sms_provider == "twilio":
        return TwilioGateway(settings)
    if settings.sms_provider == "webhook":
        return WebhookGateway(settings)
    return None


# --- signatures -----------------------------------------------------------------------------


def twilio_signature(auth_token: str, url: str, form: Mapping[str, str]) -> str:
    """Twilio's X-Twilio-Signature: base64 HMAC-SHA1 of the URL then each sorted key and value."""
    data = url + "".join(key + form[key] for key in sorted(form))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), sha1).digest()).decode()


def verify_twilio_signature(auth_token: str, url: str, form: Mapping[str, str], signature: str) -> bool:
    """Check a callback's X-Twilio-Signature; ``url`` is the full URL Twilio called (public_url).

    As Twilio's own SDKs do, the URL is also tried with and without its default port, since
    proxies in between add or drop it.
    """
    given = signature.strip().encode()
    ok = False
    for candidate in _port_variants(url):
        # No early exit: the time taken does not tell which variant matched.
        ok |= hmac.compare_digest(twilio_signature(auth_token, candidate, form).encode(), given)
    return ok


def _port_variants(url: str) -> list[str]:
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    if default is None or parts.hostname is None:
        return [url]
    host = parts.netloc.rsplit("@", 1)[-1]
    userinfo = parts.netloc[: len(parts.netloc) - len(host)]
    bare = host.rsplit(":", 1)[0] if parts.port is not None else host
    variants = [url]
    for netloc in (f"{userinfo}{bare}", f"{userinfo}{bare}:{default}"):
        if parts.port in (None, default):
            variant = urlunsplit(parts._replace(netloc=netloc))
            if variant not in variants:
                variants.append(variant)
    return variants


def webhook_signature(secret: str, body: bytes) -> str:
    """The generic webhook's X-Sharaka-Signature: hex HMAC-SHA256 of the raw body."""
    return hmac.new(secret.encode(), body, sha256).hexdigest()


def verify_webhook_signature(secret: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(webhook_signature(secret, body).encode(), signature.strip().lower().encode())


# --- callbacks and inbound ------------------------------------------------------------------

_STATUSES = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "queued",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "failed": "failed",
    "canceled": "failed",
    "cancelled": "failed",
    "undelivered": "undelivered",
}


@dataclass(frozen=True, slots=True)
class StatusReport:
    provider_id: str
    status: str  # "queued" | "sent" | "delivered" | "failed" | "undelivered"
    error: str | None


def _status(raw: Any) -> str:
    status = _STATUSES.get(str(raw).strip().lower())
    if status is None:
        raise ValueError(f"unknown message status {str(raw)[:40]!r}")
    return status


# Twilio's default opt-out and opt-in keywords, plus the platform's Arabic and French ones.
_STOP_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "توقف", "الغاء", "arret"})
_START_WORDS = frozenset({"start", "unstop"})


def _keyword(body: str) -> str:
    """A reply reduced to compare with keywords: case, spaces and marks ignored (so "Arrêt" is
    "arret" and "إلغاء" is "الغاء": hamza and harakat are often left out when typing), tatweel
    dropped, and a trailing full stop or "!" tolerated."""
    text = "".join(body.split()).casefold().rstrip(".!؟?").replace("\u0640", "")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("\u0671", "\u0627")


@dataclass(frozen=True, slots=True)
class Inbound:
    from_: str
    body: str

    @property
    def is_stop(self) -> bool:
        return _keyword(self.body) in _STOP_WORDS

    @property
    def is_start(self) -> bool:
        return _keyword(self.body) in _START_WORDS


def _field(data: Mapping[str, Any], key: str) -> Any:
    value = data.get(key)
    if value is None:
        raise ValueError(f"missing field {key!r}")
    return value


def _sender(raw: Any) -> str:
    """E.164 when the sender is a phone number; short codes and alphanumeric senders stay as sent."""
    try:
        return normalise_phone(str(raw))
    except ValueError:
        return str(raw).strip()


def _error(raw: Any) -> str | None:
    return None if raw is None or str(raw).strip() == "" else str(raw).strip()


def parse_twilio_status(form: Mapping[str, str]) -> StatusReport:
    provider_id = str(_field(form, "MessageSid"))
    return StatusReport(provider_id, _status(_field(form, "MessageStatus")), _error(form.get("ErrorCode")))


def parse_twilio_inbound(form: Mapping[str, str]) -> Inbound:
    return Inbound(_sender(_field(form, "From")), str(_field(form, "Body")))


def parse_webhook_status(payload: Mapping[str, Any]) -> StatusReport:
    provider_id = str(_field(payload, "id"))
    return StatusReport(provider_id, _status(_field(payload, "status")), _error(payload.get("error")))


def parse_webhook_inbound(payload: Mapping[str, Any]) -> Inbound:
    return Inbound(_sender(_field(payload, "from")), str(_field(payload, "body")))

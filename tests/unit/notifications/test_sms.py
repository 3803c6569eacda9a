"""The SMS adapter's pure parts: segments, numbers, keywords, signatures and callback parsing."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from urllib.parse import parse_qsl

import httpx
import pytest

from services.notifications.settings import NotificationsSettings
from services.notifications.sms import (
    Inbound,
    Segments,
    SmsError,
    SmsMessage,
    TokenBucket,
    TwilioGateway,
    WebhookGateway,
    count_segments,
    normalise_phone,
    parse_twilio_inbound,
    parse_twilio_status,
    parse_webhook_inbound,
    parse_webhook_status,
    verify_twilio_signature,
    verify_webhook_signature,
    webhook_signature,
)

# Twilio's published example (its security documentation and SDK tests): an independent vector.
TWILIO_TOKEN = "12345"
TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_FORM = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
TWILIO_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Segments("gsm7", 1)),
        ("a" * 160, Segments("gsm7", 1)),
        ("a" * 161, Segments("gsm7", 2)),
        ("a" * 306, Segments("gsm7", 2)),
        ("a" * 307, Segments("gsm7", 3)),
        ("€" * 80, Segments("gsm7", 1)),  # extension characters take two septets
        ("€" * 81, Segments("gsm7", 2)),
        ("Réunion à 18h : {ordre du jour} ~ [ouvert]", Segments("gsm7", 1)),
        ("ب" * 70, Segments("ucs2", 1)),
        ("ب" * 71, Segments("ucs2", 2)),
        ("ب" * 134, Segments("ucs2", 2)),
        ("ب" * 135, Segments("ucs2", 3)),
        ("😀" * 35, Segments("ucs2", 1)),  # an emoji is two UTF-16 code units
        ("😀" * 36, Segments("ucs2", 2)),
        ("a" * 159 + "ç", Segments("ucs2", 3)),  # one non-GSM letter turns the whole text into UCS-2
    ],
)
def test_segments(text: str, expected: Segments) -> None:
    assert count_segments(text) == expected


def test_a_single_part_holds_160_septets_including_escapes() -> None:
    assert count_segments("a" * 158 + "€") == Segments("gsm7", 1)
    assert count_segments("a" * 159 + "€") == Segments("gsm7", 2)


def test_an_escape_pair_is_not_split_across_parts() -> None:
    # 152 septets then a two-septet "€" would straddle the first part's 153: it moves on.
    assert count_segments("a" * 152 + "€" + "a" * 152) == Segments("gsm7", 3)
    assert count_segments("a" * 151 + "€" + "a" * 153) == Segments("gsm7", 2)


def test_a_surrogate_pair_is_not_split_across_parts() -> None:
    assert count_segments("ب" * 66 + "😀" + "ب" * 66) == Segments("ucs2", 3)
    assert count_segments("ب" * 65 + "😀" + "ب" * 67) == Segments("ucs2", 2)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+33612345678", "+33612345678"),
        (" +33 6 12 34 56 78 ", "+33612345678"),
        ("+1 (415) 867-5309", "+14158675309"),
        ("+212 6 61 23 45 67", "+212661234567"),
        ("+216 20 123 456", "+21620123456"),
    ],
)
def test_normalise_phone(raw: str, expected: str) -> None:
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize(
    "raw", ["0612345678", "0033612345678", "", "+", "+1234", "+33 6", "phone", "+999123456"]
)
def test_normalise_phone_refuses(raw: str) -> None:
    with pytest.raises(ValueError, match="phone number") as caught:
        normalise_phone(raw)
    if any(ch.isdigit() for ch in raw):
        assert raw.strip() not in str(caught.value)  # the number stays out of messages


@pytest.mark.parametrize(
    "body",
    ["STOP", "stop", " Stop ", "Stop.", "STOP ALL", "stopall", "UNSUBSCRIBE", "cancel", "End", "quit",
     "توقف", "إلغاء", "الغاء", "ARRET", "ARRÊT", "arrêt!"],
)  # fmt: skip
def test_stop_words(body: str) -> None:
    inbound = Inbound("+33612345678", body)
    assert inbound.is_stop
    assert not inbound.is_start


@pytest.mark.parametrize("body", ["START", "start", " Unstop "])
def test_start_words(body: str) -> None:
    inbound = Inbound("+33612345678", body)
    assert inbound.is_start
    assert not inbound.is_stop


@pytest.mark.parametrize("body", ["", "stop it", "please stop", "STOPP", "merci", "yes", "نعم"])
def test_other_replies_are_neither(body: str) -> None:
    inbound = Inbound("+33612345678", body)
    assert not inbound.is_stop
    assert not inbound.is_start


def test_twilio_signature_matches_the_published_vector() -> None:
    assert verify_twilio_signature(TWILIO_TOKEN, TWILIO_URL, TWILIO_FORM, TWILIO_SIGNATURE)


def test_twilio_signature_refuses_tampering() -> None:
    assert not verify_twilio_signature(TWILIO_TOKEN, TWILIO_URL, TWILIO_FORM, "RSOYDt4T1cUTdK1PDd93/VVr8B8")
    assert not verify_twilio_signature("54321", TWILIO_URL, TWILIO_FORM, TWILIO_SIGNATURE)
    assert not verify_twilio_signature(TWILIO_TOKEN, TWILIO_URL + "&x=1", TWILIO_FORM, TWILIO_SIGNATURE)
    assert not verify_twilio_signature(
        TWILIO_TOKEN, TWILIO_URL, {**TWILIO_FORM, "Digits": "9999"}, TWILIO_SIGNATURE
    )
    assert not verify_twilio_signature(TWILIO_TOKEN, TWILIO_URL, TWILIO_FORM, "")
    assert not verify_twilio_signature(TWILIO_TOKEN, TWILIO_URL, TWILIO_FORM, "invalide é")


def test_twilio_signature_tolerates_the_default_port() -> None:
    with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2"
    assert verify_twilio_signature(TWILIO_TOKEN, with_port, TWILIO_FORM, TWILIO_SIGNATURE)
    other_port = "https://mycompany.com:8443/myapp.php?foo=1&bar=2"
    assert not verify_twilio_signature(TWILIO_TOKEN, other_port, TWILIO_FORM, TWILIO_SIGNATURE)


def test_webhook_signature() -> None:
    body = b'{"id":"abc","status":"delivered"}'
    # Computed independently: printf '%s' "$body" | openssl dgst -sha256 -hmac secret
    expected = "f8f455989ee46d0a4bf482c218c2d052a96d3a845949cb9daa5075889e560265"
    signature = webhook_signature("secret", body)
    assert signature == expected
    assert verify_webhook_signature("secret", body, signature)
    assert verify_webhook_signature("secret", body, signature.upper())
    assert not verify_webhook_signature("secret", body + b" ", signature)
    assert not verify_webhook_signature("other", body, signature)
    assert not verify_webhook_signature("secret", body, "")
    assert not verify_webhook_signature("secret", body, "é")


def test_parse_twilio_status() -> None:
    report = parse_twilio_status({"MessageSid": "SM1", "MessageStatus": "undelivered", "ErrorCode": "30003"})
    assert (report.provider_id, report.status, report.error) == ("SM1", "undelivered", "30003")
    assert parse_twilio_status({"MessageSid": "SM1", "MessageStatus": "sending"}).status == "queued"
    assert (
        parse_twilio_status({"MessageSid": "SM1", "MessageStatus": "Delivered", "ErrorCode": ""}).error
        is None
    )


@pytest.mark.parametrize(
    ("form", "field"),
    [({"MessageStatus": "sent"}, "MessageSid"), ({"MessageSid": "SM1"}, "MessageStatus")],
)
def test_parse_twilio_status_names_the_missing_field(form: dict[str, str], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        parse_twilio_status(form)


def test_parse_status_refuses_an_unknown_status() -> None:
    with pytest.raises(ValueError, match="unknown message status"):
        parse_twilio_status({"MessageSid": "SM1", "MessageStatus": "received"})


def test_parse_twilio_inbound() -> None:
    inbound = parse_twilio_inbound({"From": "+33612345678", "Body": "STOP", "To": "+15005550006"})
    assert inbound == Inbound("+33612345678", "STOP")
    assert parse_twilio_inbound({"From": "VODAFONE", "Body": ""}).from_ == "VODAFONE"
    with pytest.raises(ValueError, match="From"):
        parse_twilio_inbound({"Body": "STOP"})
    with pytest.raises(ValueError, match="Body"):
        parse_twilio_inbound({"From": "+33612345678"})


def test_parse_webhook_status() -> None:
    report = parse_webhook_status({"id": 42, "status": "failed", "error": "unreachable"})
    assert (report.provider_id, report.status, report.error) == ("42", "failed", "unreachable")
    assert parse_webhook_status({"id": "x", "status": "delivered"}).error is None
    with pytest.raises(ValueError, match="'id'"):
        parse_webhook_status({"status": "delivered"})
    with pytest.raises(ValueError, match="'status'"):
        parse_webhook_status({"id": "x"})


def test_parse_webhook_inbound() -> None:
    assert parse_webhook_inbound({"from": "+216 20 123 456", "body": "توقف"}) == Inbound(
        "+21620123456", "توقف"
    )
    with pytest.raises(ValueError, match="'from'"):
        parse_webhook_inbound({"body": "STOP"})
    with pytest.raises(ValueError, match="'body'"):
        parse_webhook_inbound({"from": "+21620123456"})


def test_sms_error_carries_finality() -> None:
    error = SmsError("twilio: answered 400", final=True, status=400)
    assert error.final
    assert error.status == 400
    assert error.retry_after is None


async def test_token_bucket_paces_concurrent_callers() -> None:
    bucket = TokenBucket(rate=50)  # burst 50, then one every 20 ms
    started = time.monotonic()
    await asyncio.gather(*(bucket.acquire() for _ in range(75)))
    elapsed = time.monotonic() - started
    assert 0.45 <= elapsed < 2.0


async def test_token_bucket_below_one_a_second() -> None:
    bucket = TokenBucket(rate=4, burst=1)
    started = time.monotonic()
    for _ in range(3):
        await bucket.acquire()
    assert time.monotonic() - started >= 0.45


def _settings(provider: str, url: str) -> NotificationsSettings:
    return NotificationsSettings(
        sms_provider=provider,
        sms_url=url,
        sms_account_sid="ACabc",
        sms_auth_token="tok",
        sms_from="+15005550006",
        sms_webhook_secret="whsec",
        public_url="https://sharaka.example/",
    )


async def test_twilio_request_shape() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"sid": "SM123", "status": "queued"})

    gateway = TwilioGateway(
        _settings("twilio", "https://api.example/"), transport=httpx.MockTransport(answer)
    )
    sent = SmsMessage(uuid.uuid4(), "+33612345678", "Bonjour €")
    try:
        accepted = await gateway.send(sent)
    finally:
        await gateway.aclose()
    assert (accepted.provider_id, accepted.segments) == ("SM123", 1)
    [request] = seen
    assert str(request.url) == "https://api.example/2010-04-01/Accounts/ACabc/Messages.json"
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"ACabc:tok").decode()
    assert dict(parse_qsl(request.content.decode())) == {
        "To": "+33612345678",
        "From": "+15005550006",
        "Body": "Bonjour €",
        "StatusCallback": "https://sharaka.example/v1/sms/status/twilio",
    }


async def test_webhook_request_shape() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": 7})

    gateway = WebhookGateway(
        _settings("webhook", "https://gw.example/send"), transport=httpx.MockTransport(answer)
    )
    sent = SmsMessage(uuid.uuid4(), "+21620123456", "توقف")
    try:
        accepted = await gateway.send(sent)
    finally:
        await gateway.aclose()
    assert (accepted.provider_id, accepted.segments) == ("7", 1)
    [request] = seen
    assert str(request.url) == "https://gw.example/send"
    assert verify_webhook_signature("whsec", request.content, request.headers["x-sharaka-signature"])
    assert json.loads(request.content) == {
        "to": "+21620123456",
        "from": "+15005550006",
        "body": "توقف",
        "reference": str(sent.delivery_id),
        "status_url": "https://sharaka.example/v1/sms/status/webhook",
    }


@pytest.mark.parametrize(
    ("status", "payload", "final"),
    [
        (400, {"code": 21211, "message": "The 'To' number +33612345678 is not a valid phone number."}, True),
        (401, {"code": 20003, "message": "Authenticate"}, True),
        (404, None, True),
        (408, None, False),
        (429, {"code": 20429}, False),
        (500, None, False),
        (503, {"error": "+33612345678 unreachable"}, False),
        (201, {"status": "queued"}, True),  # a 2xx without an id: sms_url is not a gateway
        (200, None, True),
    ],
)
async def test_answers_become_errors_without_the_number(status: int, payload: object, final: bool) -> None:
    def answer(_request: httpx.Request) -> httpx.Response:
        if payload is None:
            return httpx.Response(status, text="<html>nope</html>", headers={"retry-after": "7"})
        return httpx.Response(status, json=payload)

    gateway = TwilioGateway(_settings("twilio", "https://api.example"), transport=httpx.MockTransport(answer))
    try:
        with pytest.raises(SmsError) as caught:
            await gateway.send(SmsMessage(uuid.uuid4(), "+33612345678", "x"))
    finally:
        await gateway.aclose()
    assert caught.value.final is final
    assert caught.value.status == status
    assert "33612345678" not in str(caught.value)
    if status == 400:
        assert "21211" in str(caught.value)
    if payload is None and status >= 300:
        assert caught.value.retry_after == 7.0


async def test_a_connection_error_is_worth_retrying() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    gateway = TwilioGateway(_settings("twilio", "https://api.example"), transport=httpx.MockTransport(answer))
    try:
        with pytest.raises(SmsError, match="could not reach") as caught:
            await gateway.send(SmsMessage(uuid.uuid4(), "+33612345678", "x"))
    finally:
        await gateway.aclose()
    assert caught.value.final is False

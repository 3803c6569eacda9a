"""The SMS adapter against the local gateway catcher, both over real HTTP.

The catcher shares no code with the adapter, so a send it accepts and a callback whose
signature the adapter verifies show that both sides speak the provider's protocol.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from devstack.ports import HOST, free_port
from devstack.sms import DEV_TOKEN, DEV_WEBHOOK_SECRET, CaughtSms, SmsCatcher, SmsDaemon
from services.notifications.settings import NotificationsSettings
from services.notifications.sms import (
    SmsError,
    SmsGateway,
    SmsMessage,
    TwilioGateway,
    WebhookGateway,
    gateway_from,
    parse_twilio_inbound,
    parse_twilio_status,
    parse_webhook_inbound,
    parse_webhook_status,
    verify_twilio_signature,
    verify_webhook_signature,
)


class Receiver:
    """A tiny HTTP server standing in for the notifications service's callback routes."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver._changed:
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    receiver.requests.append((self.path, headers, body))
                    receiver._changed.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def wait(self, count: int, match: str, timeout: float = 10) -> list[tuple[str, dict[str, str], bytes]]:
        """The first ``count`` requests whose path or body mentions ``match`` (e.g. a text's sid)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [r for r in self.requests if match in r[0] or match.encode() in r[2]]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{len(found)} of {count} callbacks for {match}")
                self._changed.wait(remaining)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def settings(url: str, receiver: Receiver, **overrides: Any) -> NotificationsSettings:
    values: dict[str, Any] = {
        "sms_provider": "twilio",
        "sms_url": url,
        "public_url": receiver.url,
        "sms_rate_per_s": 1000.0,
        "sms_timeout_s": 5.0,
    } | overrides
    return NotificationsSettings(**values)


def message(to: str = "+33612345678", body: str | None = None) -> SmsMessage:
    delivery_id = uuid.uuid4()
    return SmsMessage(delivery_id, to, body or f"Consultation ouverte ({delivery_id.hex[:8]})")


async def caught(sms: SmsCatcher, sid: str) -> CaughtSms:
    return await asyncio.to_thread(sms.wait_for, lambda m: m.sid == sid, 10)


async def test_twilio_send_is_caught_and_reported_back_signed(sms: SmsCatcher, receiver: Receiver) -> None:
    gateway = TwilioGateway(settings(sms.url, receiver))
    try:
        sent = message(body="Votre avis compte : la consultation sur le plan d'action est ouverte.")
        accepted = await gateway.send(sent)
    finally:
        await gateway.aclose()
    assert accepted.provider_id.startswith("SM")
    assert len(accepted.provider_id) == 34
    assert accepted.segments == 1
    got = await caught(sms, accepted.provider_id)
    assert (got.provider, got.to, got.from_, got.body) == ("twilio", sent.to, "+15005550006", sent.body)
    assert got.status_url == f"{receiver.url}/v1/sms/status/twilio"

    callbacks = await asyncio.to_thread(receiver.wait, 2, accepted.provider_id)
    statuses = []
    for path, headers, body in callbacks:
        assert path == "/v1/sms/status/twilio"
        form = dict(parse_qsl(body.decode()))
        assert verify_twilio_signature(DEV_TOKEN, receiver.url + path, form, headers["x-twilio-signature"])
        assert not verify_twilio_signature("wrong", receiver.url + path, form, headers["x-twilio-signature"])
        report = parse_twilio_status(form)
        assert report.provider_id == accepted.provider_id
        statuses.append(report.status)
    assert statuses == ["sent", "delivered"]


async def test_a_long_arabic_text_costs_several_segments(sms: SmsCatcher, receiver: Receiver) -> None:
    gateway = TwilioGateway(settings(sms.url, receiver))
    try:
        accepted = await gateway.send(message(to="+212661234567", body="مشاورة مفتوحة " * 10))
    finally:
        await gateway.aclose()
    assert accepted.segments == 3  # 140 UCS-2 units: 67 + 67 + 6
    assert (await caught(sms, accepted.provider_id)).body.startswith("مشاورة")


async def test_a_503_is_worth_retrying_and_the_retry_goes_through(
    sms: SmsCatcher, receiver: Receiver
) -> None:
    gateway = TwilioGateway(settings(sms.url, receiver))
    sms.fail_next(2, status=503)
    try:
        for _ in range(2):
            with pytest.raises(SmsError) as failed:
                await gateway.send(message())
            assert failed.value.final is False
            assert failed.value.status == 503
        accepted = await gateway.send(message())
    finally:
        await gateway.aclose()
    await caught(sms, accepted.provider_id)


async def test_a_429_is_worth_retrying_after_the_hint(sms: SmsCatcher, receiver: Receiver) -> None:
    gateway = TwilioGateway(settings(sms.url, receiver))
    sms.fail_next(1, status=429)
    try:
        with pytest.raises(SmsError) as failed:
            await gateway.send(message())
    finally:
        await gateway.aclose()
    assert (failed.value.final, failed.value.status, failed.value.retry_after) == (False, 429, 1.0)


async def test_an_invalid_number_is_final_and_not_named(sms: SmsCatcher, receiver: Receiver) -> None:
    gateway = TwilioGateway(settings(sms.url, receiver))
    try:
        with pytest.raises(SmsError) as failed:
            await gateway.send(message(to="+1555"))
    finally:
        await gateway.aclose()
    assert failed.value.final is True
    assert failed.value.status == 400
    assert "21211" in str(failed.value)
    assert "+1555" not in str(failed.value)
    assert "<recipient>" in str(failed.value)


async def test_a_wrong_token_is_final(sms: SmsCatcher, receiver: Receiver) -> None:
    gateway = TwilioGateway(settings(sms.url, receiver, sms_auth_token="not-the-token"))
    try:
        with pytest.raises(SmsError) as failed:
            await gateway.send(message())
    finally:
        await gateway.aclose()
    assert (failed.value.final, failed.value.status) == (True, 401)


async def test_an_unreachable_or_silent_gateway_is_worth_retrying(receiver: Receiver) -> None:
    nobody = f"http://{HOST}:{free_port()}"
    gateway = TwilioGateway(settings(nobody, receiver))
    try:
        with pytest.raises(SmsError, match="could not reach") as failed:
            await gateway.send(message())
        assert failed.value.final is False
    finally:
        await gateway.aclose()

    with socket.socket() as silent:  # accepts connections (the kernel does) but never answers
        silent.bind((HOST, 0))
        silent.listen(8)
        url = f"http://{HOST}:{silent.getsockname()[1]}"
        gateway = TwilioGateway(settings(url, receiver, sms_timeout_s=0.3))
        try:
            with pytest.raises(SmsError, match="no answer within") as failed:
                await gateway.send(message())
            assert failed.value.final is False
        finally:
            await gateway.aclose()


async def test_the_rate_limit_holds_for_concurrent_senders(sms: SmsCatcher, receiver: Receiver) -> None:
    gateway = TwilioGateway(settings(sms.url, receiver, sms_rate_per_s=10.0))  # a burst of 10, then 10/s
    started = time.monotonic()
    try:
        accepted = await asyncio.gather(*(gateway.send(message()) for _ in range(25)))
    finally:
        await gateway.aclose()
    elapsed = time.monotonic() - started
    assert elapsed >= 1.4, elapsed  # (25 - 10) / 10 s, less a little scheduling slack
    assert elapsed < 5, elapsed
    for one in accepted:
        await caught(sms, one.provider_id)


async def test_concurrent_sends_are_all_accepted_and_every_report_arrives(
    sms: SmsCatcher, receiver: Receiver
) -> None:
    """The catcher under the benchmark's concurrency: nothing dropped, every report sent.

    How fast it goes is the benchmark's business (speed is measured there, not asserted here).
    """
    gateway = TwilioGateway(settings(sms.url, receiver, sms_rate_per_s=10_000.0))
    reported = sms.callbacks_sent
    caught_before = len(sms.messages)
    try:
        sem = asyncio.Semaphore(32)

        async def one() -> None:
            async with sem:
                await gateway.send(message())

        await asyncio.gather(*(one() for _ in range(400)))
    finally:
        await gateway.aclose()
    assert len(sms.messages) - caught_before == 400
    # The delivery reports (two a text) follow without holding up the sends, and all arrive.
    deadline = time.monotonic() + 30
    while sms.callbacks_sent - reported < 800 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert sms.callbacks_sent - reported >= 800  # (earlier tests' late reports may add a few)


async def test_webhook_round_trip(sms: SmsCatcher, receiver: Receiver) -> None:
    config = settings(f"{sms.url}/webhook", receiver, sms_provider="webhook")
    gateway = gateway_from(config)
    assert isinstance(gateway, WebhookGateway)
    sent = message(to="+21620123456", body="Rappel : la consultation ferme demain.")
    try:
        accepted = await gateway.send(sent)
    finally:
        await gateway.aclose()
    got = await caught(sms, accepted.provider_id)
    assert (got.provider, got.to, got.body, got.reference) == (
        "webhook",
        sent.to,
        sent.body,
        str(sent.delivery_id),
    )
    assert got.status_url == f"{receiver.url}/v1/sms/status/webhook"

    [(path, headers, body)] = await asyncio.to_thread(receiver.wait, 1, accepted.provider_id)
    assert path == "/v1/sms/status/webhook"
    assert verify_webhook_signature(DEV_WEBHOOK_SECRET, body, headers["x-sharaka-signature"])
    report = parse_webhook_status(json.loads(body))
    assert (report.provider_id, report.status, report.error) == (accepted.provider_id, "delivered", None)


async def test_webhook_with_a_wrong_secret_is_final(sms: SmsCatcher, receiver: Receiver) -> None:
    config = settings(f"{sms.url}/webhook", receiver, sms_provider="webhook", sms_webhook_secret="wrong")
    gateway = gateway_from(config)
    assert gateway is not None
    try:
        with pytest.raises(SmsError) as failed:
            await gateway.send(message())
    finally:
        await gateway.aclose()
    assert (failed.value.final, failed.value.status) == (True, 401)


def test_gateway_from_the_provider_setting(sms: SmsCatcher, receiver: Receiver) -> None:
    assert gateway_from(settings(sms.url, receiver, sms_provider="none")) is None
    assert isinstance(gateway_from(settings(sms.url, receiver)), TwilioGateway)
    gateway: SmsGateway | None = gateway_from(settings(sms.url, receiver, sms_provider="webhook"))
    assert isinstance(gateway, WebhookGateway)


async def test_the_inbox_over_http() -> None:
    catcher = SmsCatcher(callbacks=False)
    catcher.start()
    try:
        async with httpx.AsyncClient(base_url=catcher.url) as http:
            auth = ("ACtest", DEV_TOKEN)
            for to in ("+33612345678", "+33612345678", "+212661234567"):
                form = {"To": to, "From": "+15005550006", "Body": "Bonjour"}
                answer = await http.post("/2010-04-01/Accounts/ACtest/Messages.json", data=form, auth=auth)
                assert answer.status_code == 201
                assert answer.json()["status"] == "queued"
            everything = (await http.get("/messages")).json()
            assert [m["to"] for m in everything] == ["+33612345678", "+33612345678", "+212661234567"]
            assert len((await http.get("/messages", params={"to": "+212661234567"})).json()) == 1
            assert (await http.delete("/messages")).status_code == 204
            assert (await http.get("/messages")).json() == []
            assert catcher.messages == []
    finally:
        catcher.stop()


async def test_an_inbound_stop_is_posted_signed(sms: SmsCatcher, receiver: Receiver) -> None:
    to_url = f"{receiver.url}/v1/sms/inbound/twilio?test={uuid.uuid4().hex}"
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{sms.url}/simulate/inbound",
            json={"from": "+33612345678", "body": "STOP", "to_url": to_url, "provider": "twilio"},
        )
    assert answer.status_code == 200
    assert answer.json()["status"] == 204
    [(path, headers, body)] = receiver.wait(1, to_url.removeprefix(receiver.url))
    form = dict(parse_qsl(body.decode()))
    assert verify_twilio_signature(DEV_TOKEN, receiver.url + path, form, headers["x-twilio-signature"])
    inbound = parse_twilio_inbound(form)
    assert (inbound.from_, inbound.is_stop) == ("+33612345678", True)


async def test_an_inbound_reply_from_the_python_helper(sms: SmsCatcher, receiver: Receiver) -> None:
    to_url = f"{receiver.url}/v1/sms/inbound/webhook?test={uuid.uuid4().hex}"
    answer = await sms.send_inbound(to_url, "+21620123456", "توقف", provider="webhook")
    assert answer.status_code == 204
    [(path, headers, body)] = receiver.wait(1, to_url.removeprefix(receiver.url))
    assert verify_webhook_signature(DEV_WEBHOOK_SECRET, body, headers["x-sharaka-signature"])
    assert parse_webhook_inbound(json.loads(body)).is_stop

    sid = "SM" + uuid.uuid4().hex
    answer = await sms.send_status(f"{receiver.url}/v1/sms/status/twilio", sid, "undelivered", error="30003")
    assert answer.status_code == 204
    [(path, headers, body)] = receiver.wait(1, sid)
    form = dict(parse_qsl(body.decode()))
    assert verify_twilio_signature(DEV_TOKEN, receiver.url + path, form, headers["x-twilio-signature"])
    report = parse_twilio_status(form)
    assert (report.provider_id, report.status, report.error) == (sid, "undelivered", "30003")


def test_callback_failures_are_counted_not_raised(receiver: Receiver) -> None:
    catcher = SmsCatcher()
    catcher.start()
    try:
        nowhere = f"http://{HOST}:{free_port()}/v1/sms/status/twilio"
        form = {"To": "+33612345678", "From": "+15005550006", "Body": "x", "StatusCallback": nowhere}
        answer = httpx.post(
            f"{catcher.url}/2010-04-01/Accounts/ACx/Messages.json", data=form, auth=("ACx", DEV_TOKEN)
        )
        assert answer.status_code == 201
        deadline = time.monotonic() + 5
        while catcher.callback_errors < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert catcher.callback_errors == 2  # "sent" and "delivered"
        assert catcher.callbacks_sent == 0
    finally:
        catcher.stop()


def test_a_busy_port_is_refused(sms: SmsCatcher) -> None:
    with pytest.raises(RuntimeError, match="already in use"):
        SmsCatcher(port=sms.port).start()


def test_the_daemon_keeps_texts_as_files_and_stops(tmp_path: Path) -> None:
    daemon = SmsDaemon(tmp_path / "sms")
    daemon.start()
    try:
        assert daemon.pid is not None
        daemon.start()  # already running: nothing to do
        form = {"To": "+33612345678", "From": "+15005550006", "Body": "Réunion à 18h"}
        answer = httpx.post(
            f"{daemon.url}/2010-04-01/Accounts/ACd/Messages.json", data=form, auth=("ACd", DEV_TOKEN)
        )
        assert answer.status_code == 201
        [file] = daemon.folder.glob("*.json")
        saved = json.loads(file.read_text(encoding="utf-8"))
        assert (saved["sid"], saved["to"], saved["body"]) == (answer.json()["sid"], form["To"], form["Body"])
    finally:
        daemon.stop()
    assert daemon.pid is None
    assert SmsDaemon(tmp_path / "sms").port == daemon.port  # the port is kept for the next start

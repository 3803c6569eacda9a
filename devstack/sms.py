"""A local SMS gateway that catches every text instead of sending it.

The notification service talks HTTP to an SMS provider (Twilio's Messages API, or a generic
signed JSON webhook); tests and local runs need to see those texts, and the delivery reports
and replies ("STOP") a real gateway posts back, without anything leaving the machine. Where a
lax fake would hide a bug, it behaves like the provider: basic auth, E.164 numbers, signed
callbacks. It shares no code with the service's adapter, so a test of one checks the other.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import hmac
import json
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha1, sha256
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import phonenumbers
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from devstack.daemon import CatcherDaemon
from devstack.ports import HOST, free_port

#: The notifications service's defaults (its settings), so both sides agree out of the box.
DEV_ACCOUNT_SID = "AC00000000000000000000000000000000"
DEV_TOKEN = "dev-only-sms-token"  # noqa: S105
DEV_WEBHOOK_SECRET = "dev-only-sms-webhook-secret"  # noqa: S105
DEV_NUMBER = "+15005550006"
_E164 = re.compile(r"^\+[1-9]\d{1,14}$")


@dataclass(frozen=True, slots=True)
class CaughtSms:
    """One text as the gateway accepted it; ``sid`` is the id it answered with."""

    sid: str
    provider: str
    to: str
    from_: str
    body: str
    received_at: str
    reference: str | None = None
    status_url: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "sid": self.sid,
            "provider": self.provider,
            "to": self.to,
            "from": self.from_,
            "body": self.body,
            "received_at": self.received_at,
            "reference": self.reference,
            "status_url": self.status_url,
        }


def twilio_signature(token: str, url: str, form: Mapping[str, str]) -> str:
    """Twilio's X-Twilio-Signature: base64 HMAC-SHA1 of the URL then each sorted key and value."""
    data = url + "".join(key + form[key] for key in sorted(form))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), sha1).digest()).decode()


def webhook_signature(secret: str, body: bytes) -> str:
    """The generic webhook's X-Sharaka-Signature: hex HMAC-SHA256 of the raw body."""
    return hmac.new(secret.encode(), body, sha256).hexdigest()


def signed_form(token: str, url: str, form: Mapping[str, str]) -> tuple[dict[str, str], bytes]:
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "x-twilio-signature": twilio_signature(token, url, form),
    }
    return headers, urlencode(form).encode()


def signed_json(secret: str | None, payload: Mapping[str, Any]) -> tuple[dict[str, str], bytes]:
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {"content-type": "application/json"}
    if secret:
        headers["x-sharaka-signature"] = webhook_signature(secret, body)
    return headers, body


def is_e164(number: str) -> bool:
    """What a real gateway accepts: ``+``, a country code and a number valid in that country."""
    if not _E164.match(number):
        return False
    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse(number, None)))
    except phonenumbers.NumberParseException:
        return False


class SmsCatcher:
    """The gateway as an HTTP server on 127.0.0.1, served by uvicorn in a background thread.

    ``token`` is the auth token Twilio-shaped sends must present (with the account SID as the
    user); ``webhook_secret`` signs and verifies the generic webhook (None: not checked).
    Kept in memory for assertions; with a ``folder``, also one JSON file per text.
    """

    def __init__(
        self,
        folder: Path | None = None,
        port: int | None = None,
        *,
        token: str = DEV_TOKEN,
        webhook_secret: str | None = DEV_WEBHOOK_SECRET,
        account_sid: str = DEV_ACCOUNT_SID,
        callbacks: bool = True,
    ) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.token = token
        self.webhook_secret = webhook_secret
        self.account_sid = account_sid
        self.callbacks = callbacks
        self.messages: list[CaughtSms] = []
        #: Status callbacks posted (2xx answer) and failed (error or other answer); never raised.
        self.callbacks_sent = 0
        self.callback_errors = 0
        self._port = port or free_port()
        self._changed = threading.Condition()
        self._failures: list[int] = []
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def host(self) -> str:
        return HOST

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._port}"

    def start(self, timeout: float = 10) -> None:
        if self._thread is not None:
            return
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, self._port))
        except OSError:
            sock.close()
            raise RuntimeError(f"port {self._port} is already in use by another program") from None
        sock.listen(1024)
        config = uvicorn.Config(
            _App(self).build(),
            lifespan="on",
            log_level="warning",
            access_log=False,
            # Leave the host process's logging alone (uvicorn would reconfigure its loggers).
            log_config=None,
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="sms-catcher", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise RuntimeError("the SMS catcher did not start")
            time.sleep(0.01)
        self._server, self._thread, self._socket = server, thread, sock

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def clear(self) -> None:
        """Forget the texts so far (and pending failures), so one test does not see another's."""
        with self._changed:
            self.messages.clear()
            self._failures.clear()

    def fail_next(self, count: int, status: int = 503) -> None:
        """Answer the next ``count`` sends with ``status`` instead of accepting them (for retries)."""
        with self._changed:
            self._failures.extend([status] * count)

    def wait_for(self, predicate: Callable[[CaughtSms], bool], timeout: float = 10) -> CaughtSms:
        """Return the first text (received before or during the wait) that matches.

        Texts are sent asynchronously by another service, so tests must wait rather than look.
        Blocks the calling thread: from a coroutine, run it in a thread (``asyncio.to_thread``).
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for message in self.messages:
                    if predicate(message):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    bodies = [m.body[:40] for m in self.messages[-10:]]
                    raise TimeoutError(
                        f"no matching SMS within {timeout}s; {len(self.messages)} received, last: {bodies}"
                    )
                self._changed.wait(remaining)

    async def send_inbound(
        self,
        to_url: str,
        from_: str,
        body: str,
        *,
        provider: str = "twilio",
        to: str = DEV_NUMBER,
        client: httpx.AsyncClient | None = None,
    ) -> httpx.Response:
        """Post a signed incoming text (e.g. "STOP") to ``to_url``, as the gateway would.

        ``client`` lets a test reach a service running inside the test process (its ASGI client,
        which ignores the URL's host); the signature covers ``to_url`` as given.
        """
        headers, content = self.inbound_request(provider, to_url, from_, body, to)
        return await _post(client, to_url, headers, content)

    async def send_status(
        self,
        to_url: str,
        provider_id: str,
        status: str,
        *,
        provider: str = "twilio",
        error: str | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> httpx.Response:
        """Post a signed delivery report for ``provider_id`` to ``to_url``, as the gateway would."""
        if provider == "twilio":
            form = {"MessageSid": provider_id, "MessageStatus": status, "AccountSid": self.account_sid}
            if error:
                form["ErrorCode"] = error
            headers, content = signed_form(self.token, to_url, form)
        else:
            headers, content = signed_json(
                self.webhook_secret, {"id": provider_id, "status": status, "error": error}
            )
        return await _post(client, to_url, headers, content)

    def inbound_request(
        self, provider: str, to_url: str, from_: str, body: str, to: str
    ) -> tuple[dict[str, str], bytes]:
        if provider == "twilio":
            sid = "SM" + uuid.uuid4().hex
            form = {
                "MessageSid": sid,
                "SmsSid": sid,
                "AccountSid": self.account_sid,
                "From": from_,
                "To": to,
                "Body": body,
                "NumMedia": "0",
                "ApiVersion": "2010-04-01",
            }
            return signed_form(self.token, to_url, form)
        if provider == "webhook":
            return signed_json(self.webhook_secret, {"from": from_, "to": to, "body": body})
        raise ValueError(f"unknown provider {provider!r} (twilio or webhook)")

    def _take_failure(self) -> int | None:
        with self._changed:
            return self._failures.pop(0) if self._failures else None

    def _record(self, message: CaughtSms) -> None:
        if self.folder is not None:
            # One small file per text, no fsync: a developer's view, not a durable store.
            name = f"{time.strftime('%Y%m%dT%H%M%S')}-{message.sid}.json"
            tmp = self.folder / f".{name}.tmp"
            tmp.write_text(json.dumps(message.as_json(), ensure_ascii=False, indent=2) + "\n", "utf-8")
            os.replace(tmp, self.folder / name)
        with self._changed:
            self.messages.append(message)
            self._changed.notify_all()

    def _counted(self, ok: bool) -> None:
        with self._changed:
            if ok:
                self.callbacks_sent += 1
            else:
                self.callback_errors += 1


async def _post(
    client: httpx.AsyncClient | None, url: str, headers: dict[str, str], content: bytes
) -> httpx.Response:
    if client is not None:
        return await client.post(url, headers=headers, content=content)
    async with httpx.AsyncClient(timeout=10) as own:
        return await own.post(url, headers=headers, content=content)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _twilio_error(status: int, code: int, message: str) -> JSONResponse:
    body = {"code": code, "message": message, "status": status, "more_info": f"twilio.com/docs/errors/{code}"}
    return JSONResponse(body, status_code=status, headers={"retry-after": "1"} if status == 429 else None)


def _simulated_code(status: int) -> int:
    return 20429 if status == 429 else 20500 if status >= 500 else 21211


#: A callback job: given a worker's client, posts one text's reports.
_Job = Callable[[httpx.AsyncClient], Coroutine[Any, Any, None]]


class _App:
    """The catcher's HTTP side: the two provider APIs, the inbox and the inbound simulator."""

    #: Callbacks posted side by side, each worker over its own keep-alive connection. A few keep
    #: up with hundreds of texts a second; a task per text would open as many connections, and
    #: httpx slows down sharply as one client's pool grows.
    CALLBACK_WORKERS = 4

    def __init__(self, catcher: SmsCatcher) -> None:
        self._c = catcher
        self._client: httpx.AsyncClient | None = None
        self._jobs: asyncio.Queue[_Job] = asyncio.Queue()

    def build(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/2010-04-01/Accounts/{sid}/Messages.json", self.twilio_send, methods=["POST"]),
                Route("/webhook", self.webhook_send, methods=["POST"]),
                Route("/messages", self.messages, methods=["GET", "DELETE"]),
                Route("/simulate/inbound", self.simulate_inbound, methods=["POST"]),
            ],
            lifespan=self._lifespan,
        )

    @contextlib.asynccontextmanager
    async def _lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=10) as client:  # for simulated inbound texts
            self._client = client
            workers = [asyncio.create_task(self._work()) for _ in range(self.CALLBACK_WORKERS)]
            yield
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    def _background(self, job: _Job) -> None:
        """Post callbacks after the answer, as a gateway does: the sender never waits for them."""
        self._jobs.put_nowait(job)

    async def _work(self) -> None:
        one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(timeout=5, limits=one) as client:
            while True:
                job = await self._jobs.get()
                try:
                    await job(client)
                except Exception:  # a fault in one report must not stop the others
                    self._c._counted(False)

    async def _callback(
        self, client: httpx.AsyncClient, url: str, headers: dict[str, str], content: bytes
    ) -> None:
        try:
            response = await client.post(url, headers=headers, content=content)
            ok = response.is_success
        except httpx.HTTPError:
            ok = False
        self._c._counted(ok)

    def _authorised(self, header: str, sid: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except ValueError:
            return False
        return hmac.compare_digest(user.encode(), sid.encode()) and hmac.compare_digest(
            password.encode(), self._c.token.encode()
        )

    async def twilio_send(self, request: Request) -> Response:
        sid = request.path_params["sid"]
        if not self._authorised(request.headers.get("authorization", ""), sid):
            return _twilio_error(401, 20003, "Authenticate")
        failure = self._c._take_failure()
        if failure is not None:
            return _twilio_error(failure, _simulated_code(failure), "Simulated failure (fail_next)")
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        to, from_, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        if not to:
            return _twilio_error(400, 21604, "A 'To' phone number is required.")
        if not is_e164(to):
            return _twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not from_:
            return _twilio_error(400, 21603, "A 'From' phone number is required.")
        if not body:
            return _twilio_error(400, 21602, "Message body is required.")
        status_url = form.get("StatusCallback") or None
        message = CaughtSms("SM" + uuid.uuid4().hex, "twilio", to, from_, body, _now(), None, status_url)
        self._c._record(message)
        if status_url and self._c.callbacks:
            self._background(functools.partial(self._twilio_reports, message, sid, status_url))
        return JSONResponse(
            {
                "sid": message.sid,
                "account_sid": sid,
                "status": "queued",
                "to": to,
                "from": from_,
                "body": body,
                "date_created": message.received_at,
                "uri": f"/2010-04-01/Accounts/{sid}/Messages/{message.sid}.json",
            },
            status_code=201,
        )

    async def _twilio_reports(
        self, message: CaughtSms, account_sid: str, url: str, client: httpx.AsyncClient
    ) -> None:
        for status in ("sent", "delivered"):
            form = {
                "MessageSid": message.sid,
                "SmsSid": message.sid,
                "AccountSid": account_sid,
                "MessageStatus": status,
                "SmsStatus": status,
                "From": message.from_,
                "To": message.to,
                "ApiVersion": "2010-04-01",
            }
            # Each report stands alone, as Twilio's do: a refused "sent" does not stop "delivered".
            await self._callback(client, url, *signed_form(self._c.token, url, form))

    async def webhook_send(self, request: Request) -> Response:
        raw = await request.body()
        secret = self._c.webhook_secret
        given = request.headers.get("x-sharaka-signature", "").strip().lower()
        if secret and not hmac.compare_digest(webhook_signature(secret, raw).encode(), given.encode()):
            return JSONResponse({"error": "bad_signature"}, status_code=401)
        failure = self._c._take_failure()
        if failure is not None:
            return JSONResponse({"error": "simulated_failure"}, status_code=failure)
        try:
            payload = json.loads(raw)
            to, from_, body = (str(payload[key]) for key in ("to", "from", "body"))
        except (ValueError, TypeError, KeyError) as exc:
            return JSONResponse({"error": "bad_request", "message": f"expected to, from, body: {exc}"}, 400)
        if not is_e164(to):
            return JSONResponse({"error": "invalid_number", "message": "'to' is not E.164"}, 400)
        reference, status_url = payload.get("reference"), payload.get("status_url") or None
        message = CaughtSms(uuid.uuid4().hex, "webhook", to, from_, body, _now(), reference, status_url)
        self._c._record(message)
        if status_url and self._c.callbacks:
            report = {"id": message.sid, "status": "delivered", "error": None}
            self._background(functools.partial(self._webhook_report, status_url, report))
        return JSONResponse({"id": message.sid, "status": "queued"}, status_code=202)

    async def _webhook_report(self, url: str, report: dict[str, Any], client: httpx.AsyncClient) -> None:
        await self._callback(client, url, *signed_json(self._c.webhook_secret, report))

    async def messages(self, request: Request) -> Response:
        if request.method == "DELETE":
            self._c.clear()
            return Response(status_code=204)
        to = request.query_params.get("to")
        with self._c._changed:
            found = [m.as_json() for m in self._c.messages if to is None or m.to == to]
        return JSONResponse(found)

    async def simulate_inbound(self, request: Request) -> Response:
        try:
            payload = json.loads(await request.body())
            from_, body, to_url = (str(payload[key]) for key in ("from", "body", "to_url"))
            headers, content = self._c.inbound_request(
                str(payload.get("provider", "twilio")),
                to_url,
                from_,
                body,
                str(payload.get("to", DEV_NUMBER)),
            )
        except (ValueError, TypeError, KeyError) as exc:
            return JSONResponse({"error": f"expected from, body, to_url and provider: {exc}"}, 400)
        assert self._client is not None
        try:
            answer = await self._client.post(to_url, headers=headers, content=content)
        except httpx.HTTPError as exc:
            return JSONResponse({"error": f"could not reach to_url: {type(exc).__name__}"}, 502)
        return JSONResponse({"status": answer.status_code, "body": answer.text[:2000]})


class SmsDaemon(CatcherDaemon):
    """The SMS catcher as its own process (``python -m devstack sms``), for ``make run``."""

    command = "sms"
    label = "SMS catcher"

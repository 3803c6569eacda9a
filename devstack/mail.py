"""A local SMTP server that catches every message instead of delivering it.

The notification service sends real SMTP; tests and local runs need to see those messages
without any mail leaving the machine. Each message is kept in memory (for assertions) and
written as a ``.eml`` file (to open in a mail client while developing).
"""

from __future__ import annotations

import email
import email.policy
import itertools
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from devstack.daemon import CatcherDaemon
from devstack.ports import HOST, free_port


class _DropLoginDataNotice(logging.Filter):
    """aiosmtpd warns about its own deprecated attribute on every AUTH; that is not news."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Session.login_data is deprecated")


logging.getLogger("mail.log").addFilter(_DropLoginDataNotice())


class MailCatcher:
    """An aiosmtpd server on 127.0.0.1 running in a background thread.

    AUTH is offered and any credentials pass, so a service configured with a user and
    password for its real relay can send here unchanged.
    """

    def __init__(self, folder: Path | None = None, port: int | None = None, *, keep: bool = True) -> None:
        self.folder = Path(folder) if folder is not None else None
        self._port = port or free_port()
        #: Kept in memory (for tests) as received; parsed only when someone looks. A daemon that
        #: only writes the folder keeps nothing (``keep=False``): a long ``make run`` must not grow.
        self._keep = keep
        self._raw: list[bytes] = []
        self._parsed: list[EmailMessage] = []
        self._changed = threading.Condition()
        self._counter = itertools.count(1)
        self._controller: Controller | None = None

    @property
    def host(self) -> str:
        return HOST

    @property
    def port(self) -> int:
        return self._port

    def start(self) -> None:
        if self._controller is not None:
            return
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
        controller = Controller(
            _Handler(self),
            hostname=HOST,
            port=self._port,
            enable_SMTPUTF8=True,
            authenticator=_accept_any_login,
            auth_require_tls=False,
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        """Every message caught so far, parsed (with the envelope as ``X-Envelope-*`` headers)."""
        with self._changed:
            while len(self._parsed) < len(self._raw):
                message = email.message_from_bytes(self._raw[len(self._parsed)], policy=email.policy.default)
                assert isinstance(message, EmailMessage)
                self._parsed.append(message)
            return list(self._parsed)

    def clear(self) -> None:
        """Forget the messages so far, so one test does not see another's mail."""
        with self._changed:
            self._raw.clear()
            self._parsed.clear()

    def wait_for(self, predicate: Callable[[EmailMessage], bool], timeout: float = 10) -> EmailMessage:
        """Return the first message (received before or during the wait) that matches.

        Mail is sent asynchronously by another service, so tests must wait rather than look.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for message in self.messages:  # the Condition's lock is re-entrant
                    if predicate(message):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    subjects = [str(m.get("Subject", "")) for m in self.messages]
                    raise TimeoutError(f"no matching mail within {timeout}s; received subjects: {subjects}")
                self._changed.wait(remaining)

    def _store(self, mail_from: str, rcpt_tos: list[str], content: bytes) -> None:
        # The envelope says who really receives the mail (Bcc is not in the headers). The bytes
        # are kept as sent, not parsed and written again: the catcher must not be the bottleneck
        # of a benchmark that sends thousands of messages through it.
        envelope = f"X-Envelope-From: {mail_from}\r\nX-Envelope-To: {', '.join(rcpt_tos)}\r\n"
        raw = envelope.encode("utf-8", errors="replace") + content
        seq = next(self._counter)
        if self.folder is not None:
            stamp = time.strftime("%Y%m%dT%H%M%S")
            name = f"{stamp}-{seq:05d}-{uuid.uuid4().hex[:8]}.eml"
            tmp = self.folder / f".{name}.tmp"
            tmp.write_bytes(raw)
            os.replace(tmp, self.folder / name)
        with self._changed:
            if self._keep:
                self._raw.append(raw)
            self._changed.notify_all()


class _Handler:
    def __init__(self, catcher: MailCatcher) -> None:
        self._catcher = catcher

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        self._catcher._store(str(envelope.mail_from), list(envelope.rcpt_tos), content)
        return "250 Message accepted for delivery"


def _accept_any_login(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    return AuthResult(success=True)


class MailDaemon(CatcherDaemon):
    """The mail catcher as its own process (``python -m devstack mail``), for ``make run``."""

    command = "mail"
    label = "mail catcher"

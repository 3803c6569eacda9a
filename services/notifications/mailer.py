"""The e-mail channel: builds a multipart message and hands it to the SMTP server over a few
long-lived connections.

Opening an SMTP connection (TCP, greeting, EHLO, STARTTLS, AUTH) costs more than sending one
message; a fan-out to thousands of people reuses ``smtp_connections`` connections instead, each
used by one sender at a time. A connection that fails is dropped and reopened on its next use.

Messages are built with the standard library's MIME classes (the ``compat32`` policy) and sent as
bytes: the newer ``EmailMessage`` API parses every header it is given and costs about five times
as much CPU per message, which a fan-out to thousands of people pays in full.
"""

from __future__ import annotations

import asyncio
import contextlib
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr, parseaddr
from uuid import UUID

import aiosmtplib

from services.notifications.messages import Rendered
from services.notifications.settings import NotificationsSettings

#: CRLF as SMTP wants it; no folding of long headers (a folded List-Unsubscribe URL is read wrong
#: by some clients), within RFC 5322's 998-character line limit.
_WIRE = compat32.clone(max_line_length=None, linesep="\r\n")


def message_id(delivery_id: UUID) -> str:
    """Fixed per delivery (not ``make_msgid``, which adds the time, the process id and a random
    number): if a crash makes us send twice, mail clients show one message."""
    return f"<{delivery_id}@sharaka.invalid>"


class Mailer:
    def __init__(self, settings: NotificationsSettings) -> None:
        self._s = settings
        self._idle: asyncio.Queue[aiosmtplib.SMTP] = asyncio.Queue()
        for _ in range(settings.smtp_connections):
            self._idle.put_nowait(self._client())

    def _client(self) -> aiosmtplib.SMTP:
        s = self._s
        return aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
            start_tls=s.smtp_starttls,
            timeout=s.smtp_timeout_s,
        )

    def build(
        self,
        delivery_id: UUID,
        to_name: str,
        to_email: str,
        content: Rendered,
        *,
        unsubscribe_url: str | None,
    ) -> Message:
        msg = MIMEMultipart("alternative")
        msg["From"] = self._s.mail_from
        msg["To"] = formataddr((to_name, to_email))  # a non-ASCII name is RFC 2047-encoded
        msg["Subject"] = Header(content.subject, "utf-8", header_name="Subject").encode()
        msg["Message-ID"] = message_id(delivery_id)
        msg["Content-Language"] = content.language
        msg["X-Sharaka-Delivery"] = str(delivery_id)
        if unsubscribe_url:
            # RFC 8058: a mail client may unsubscribe with one POST, no page to visit.
            msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
            msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg.attach(MIMEText(content.text, "plain", "utf-8"))
        msg.attach(MIMEText(content.html, "html", "utf-8"))
        return msg

    async def send(self, message: Message) -> None:
        sender = parseaddr(self._s.mail_from)[1]
        to = parseaddr(str(message["To"]))[1]
        data = message.as_bytes(policy=_WIRE)
        client = await self._idle.get()
        try:
            if not client.is_connected:
                await client.connect()
            await client.sendmail(sender, [to], data)
        except BaseException:
            with contextlib.suppress(Exception):
                client.close()
            client = self._client()  # a fresh one: the old one's state is unknown
            raise
        finally:
            self._idle.put_nowait(client)

    async def aclose(self) -> None:
        while not self._idle.empty():
            client = self._idle.get_nowait()
            if client.is_connected:
                with contextlib.suppress(Exception):
                    await client.quit()

"""The e-mail channel: builds a message and hands it to an SMTP server."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid
from uuid import UUID

import aiosmtplib

from services.notifications.settings import NotificationsSettings
from services.notifications.templates import Template


class Mailer:
    def __init__(self, settings: NotificationsSettings) -> None:
        self._s = settings

    def build(self, delivery_id: UUID, to_name: str, to_email: str, content: Template) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self._s.mail_from
        msg["To"] = f"{to_name} <{to_email}>"
        msg["Subject"] = content.subject
        # Stable per delivery: if a crash makes us send twice, mail clients show one message.
        msg["Message-ID"] = make_msgid(idstring=str(delivery_id), domain="sharaka.invalid")
        msg["X-Sharaka-Delivery"] = str(delivery_id)
        msg.set_content(content.body)
        return msg

    async def send(self, message: EmailMessage) -> None:
        s = self._s
        await aiosmtplib.send(
            message,
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
            start_tls=s.smtp_starttls,
            timeout=s.smtp_timeout_s,
        )

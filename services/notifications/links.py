"""Signed links in messages: unsubscribe and confirm work without signing in, so the link itself
must prove what it may do. Each is a short HS256 token (the service's ``link_secret``) naming the
recipient, the action and, for unsubscribe, the channel.

Unsubscribe links do not expire (RFC 8058 expects them to keep working for as long as the message
may be read); confirmation links do (``confirm_link_ttl_s``).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote
from uuid import UUID

import jwt

from services.notifications.settings import NotificationsSettings
from shared.errors import Invalid
from shared.events.notifications import Channel

Action = Literal["unsubscribe", "confirm"]
_AUDIENCE = "sharaka-notifications-link"


@dataclass(frozen=True, slots=True)
class LinkClaim:
    action: Action
    recipient_id: UUID
    channel: Channel | None = None
    subscription_id: UUID | None = None


class Links:
    @classmethod
    def of(cls, settings: NotificationsSettings) -> Links:
        return cls(settings.link_secret.get_secret_value(), settings.public_url, settings.confirm_link_ttl_s)

    def __init__(self, secret: str, public_url: str, confirm_ttl_s: int) -> None:
        self._secret = secret
        self._base = public_url.rstrip("/")
        self._confirm_ttl_s = confirm_ttl_s

    def token(self, claim: LinkClaim) -> str:
        payload: dict[str, object] = {"act": claim.action, "rid": str(claim.recipient_id), "aud": _AUDIENCE}
        if claim.channel is not None:
            payload["ch"] = claim.channel.value
        if claim.subscription_id is not None:
            payload["sid"] = str(claim.subscription_id)
        if claim.action == "confirm":
            payload["exp"] = int(time.time()) + self._confirm_ttl_s
        return jwt.encode(payload, self._secret, algorithm="HS256")

    def verify(self, token: str, action: Action) -> LinkClaim:
        """The claim a genuine, unexpired link of this ``action`` makes; 422 on ``token`` otherwise
        (forged, altered, expired, or a link made for another action)."""
        try:
            payload = jwt.decode(token, self._secret, algorithms=["HS256"], audience=_AUDIENCE)
            if payload.get("act") != action:
                raise Invalid("token", f"not a {action} link")
            channel = payload.get("ch")
            sid = payload.get("sid")
            return LinkClaim(
                action=action,
                recipient_id=UUID(payload["rid"]),
                channel=Channel(channel) if channel else None,
                subscription_id=UUID(sid) if sid else None,
            )
        except jwt.ExpiredSignatureError:
            raise Invalid("token", "the link has expired; ask for a new one") from None
        except (jwt.InvalidTokenError, KeyError, ValueError):
            raise Invalid("token", "not a valid link") from None

    def unsubscribe_url(self, recipient_id: UUID, channel: Channel) -> str:
        # The same for every message to a person on a channel (the token has no expiry): signed
        # once, not once per message.
        return self._unsubscribe_url(recipient_id, channel)

    @functools.lru_cache(maxsize=16_384)  # noqa: B019  (one Links per worker, kept for its life)
    def _unsubscribe_url(self, recipient_id: UUID, channel: Channel) -> str:
        token = self.token(LinkClaim("unsubscribe", recipient_id, channel))
        return f"{self._base}/v1/unsubscribe?token={quote(token)}"

    def confirm_url(self, recipient_id: UUID, subscription_id: UUID | None) -> str:
        token = self.token(LinkClaim("confirm", recipient_id, subscription_id=subscription_id))
        return f"{self._base}/v1/confirm?token={quote(token)}"

    def preferences_url(self, recipient_id: UUID) -> str:
        return f"{self._base}/v1/recipients/{recipient_id}/preferences"

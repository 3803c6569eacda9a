"""The SMS gateway's webhooks: delivery reports and inbound replies (STOP / START).

Both are signed by the gateway (Twilio's ``X-Twilio-Signature``, or the generic webhook's
``X-Sharaka-Signature``); an unsigned or wrongly signed call changes nothing and gets 403.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request, Response

from services.notifications import sms
from services.notifications.settings import NotificationsSettings
from services.notifications.use_cases import people, sending
from shared.errors import Forbidden, Invalid
from shared.runtime import Runtime, runtime_of

router = APIRouter(prefix="/v1/sms", tags=["sms gateway"])
RT = Annotated[Runtime, Depends(runtime_of)]
Provider = Literal["twilio", "webhook"]
#: What a caller without the gateway's signature gets (the body is checked only once signed).
_UNSIGNED: dict[int | str, dict[str, Any]] = {
    403: {"description": "bad gateway signature", "content": {"application/problem+json": {}}}
}


async def _verified(rt: Runtime, request: Request, provider: Provider, path: str) -> dict[str, Any]:
    s = NotificationsSettings.of(rt.settings)
    raw = await request.body()
    if provider == "twilio":
        form = dict(parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True))
        url = s.public_url.rstrip("/") + path
        signature = request.headers.get("x-twilio-signature", "")
        if not sms.verify_twilio_signature(s.sms_auth_token.get_secret_value(), url, form, signature):
            raise Forbidden("bad gateway signature")
        return form
    if not sms.verify_webhook_signature(
        s.sms_webhook_secret.get_secret_value(), raw, request.headers.get("x-sharaka-signature", "")
    ):
        raise Forbidden("bad gateway signature")
    try:
        payload = json.loads(raw)
    except ValueError:
        raise Invalid("body", "not JSON") from None
    if not isinstance(payload, dict):
        raise Invalid("body", "not a JSON object")
    return payload


@router.post("/status/{provider}", status_code=204, responses=_UNSIGNED)
async def delivery_status(rt: RT, request: Request, provider: Provider) -> Response:
    data = await _verified(rt, request, provider, f"/v1/sms/status/{provider}")
    try:
        report = sms.parse_twilio_status(data) if provider == "twilio" else sms.parse_webhook_status(data)
    except ValueError as exc:
        raise Invalid("body", str(exc)) from None
    async with rt.uow() as uow:
        await sending.record_gateway_status(
            uow,
            sending.RecordGatewayStatus(report.provider_id, report.status, report.error, datetime.now(UTC)),
        )
    return Response(status_code=204)


@router.post("/inbound/{provider}", responses=_UNSIGNED)
async def inbound(rt: RT, request: Request, provider: Provider) -> Response:
    """A reply to one of our messages: STOP opts the number out of SMS, START back in."""
    data = await _verified(rt, request, provider, f"/v1/sms/inbound/{provider}")
    try:
        message = sms.parse_twilio_inbound(data) if provider == "twilio" else sms.parse_webhook_inbound(data)
    except ValueError as exc:
        raise Invalid("body", str(exc)) from None
    if message.is_stop or message.is_start:
        async with rt.uow() as uow:
            await people.sms_reply(uow, people.SmsReply(message.from_, message.is_stop, message.is_start,
                                                        datetime.now(UTC)))  # fmt: skip
    if provider == "twilio":  # an empty TwiML answer: no automatic reply from us
        return Response("<Response/>", media_type="application/xml")
    return Response(status_code=204)

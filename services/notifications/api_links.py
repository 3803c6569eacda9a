"""What works without signing in: following as a member of the public (double opt-in), and the
signed links in messages (confirm, unsubscribe).

A GET on a link only shows a page with a button: mail scanners fetch links, and must not confirm
or unsubscribe anyone. The button (or a mail client's RFC 8058 one-click POST) does it.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import parse_qs
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from services.notifications.domain.triggers import ScopeType
from services.notifications.links import Links
from services.notifications.settings import NotificationsSettings
from services.notifications.use_cases import people
from shared.events.notifications import Channel
from shared.runtime import Runtime, runtime_of

router = APIRouter(prefix="/v1", tags=["public links"])
RT = Annotated[Runtime, Depends(runtime_of)]


def links_of(rt: Runtime) -> Links:
    return Links.of(NotificationsSettings.of(rt.settings))


class PublicFollowIn(BaseModel):
    name: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32, description="E.164")
    language: str = "en"
    scope_type: ScopeType
    scope_id: UUID
    kinds: list[str] = Field(default_factory=list)


class PublicFollowOut(BaseModel):
    status: str = "confirmation_sent"


@router.post("/public/subscriptions", response_model=PublicFollowOut, status_code=202)
async def follow_publicly(rt: RT, body: PublicFollowIn) -> PublicFollowOut:
    """Follow without an account. Nothing is sent but a confirmation until its link is followed;
    the answer is the same whether or not the address was known (no address probing)."""
    async with rt.uow() as uow:
        await people.follow_publicly(uow, people.FollowPublicly(
            body.name, body.email, body.phone, body.language, body.scope_type, body.scope_id,
            frozenset(body.kinds), datetime.now(UTC),
        ))  # fmt: skip
    return PublicFollowOut()


def _page(
    title: str, text: str, *, token: str | None = None, action: str = "", button: str = ""
) -> HTMLResponse:
    form = ""
    if token is not None:
        form = (
            f'<form method="post" action="{html.escape(action)}?token={html.escape(token)}">'
            f'<button type="submit">{html.escape(button)}</button></form>'
        )
    body = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"</head><body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{form}</body></html>"
    )
    return HTMLResponse(body, headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


@router.get("/confirm", response_class=HTMLResponse)
async def confirm_page(rt: RT, token: str) -> HTMLResponse:
    links_of(rt).verify(token, "confirm")
    return _page("Confirm your subscription", "Press the button to start receiving Sharaka notifications.",
                 token=token, action="/v1/confirm", button="Confirm")  # fmt: skip


@router.post("/confirm", response_class=HTMLResponse)
async def confirm(rt: RT, token: str) -> HTMLResponse:
    claim = links_of(rt).verify(token, "confirm")
    async with rt.uow() as uow:
        await people.confirm(
            uow, people.Confirm(claim.recipient_id, claim.subscription_id, datetime.now(UTC))
        )
    return _page("Subscription confirmed", "You will now hear of what you follow.")


@router.get("/unsubscribe", response_class=HTMLResponse)
async def unsubscribe_page(rt: RT, token: str) -> HTMLResponse:
    links_of(rt).verify(token, "unsubscribe")
    return _page("Unsubscribe", "Press the button to stop these messages.", token=token,
                 action="/v1/unsubscribe", button="Unsubscribe")  # fmt: skip


@router.post("/unsubscribe", response_class=HTMLResponse)
async def unsubscribe(rt: RT, request: Request, token: str) -> HTMLResponse:
    """The page's button, or a mail client's RFC 8058 one-click POST
    (``List-Unsubscribe=One-Click`` in a form body)."""
    claim = links_of(rt).verify(token, "unsubscribe")
    form = parse_qs((await request.body()).decode("utf-8", errors="replace"))
    source = "list_unsubscribe_post" if form.get("List-Unsubscribe") == ["One-Click"] else "email_link"
    async with rt.uow() as uow:
        await people.opt_out(uow, people.OptOut(claim.recipient_id, claim.channel or Channel.EMAIL, source,
                                                datetime.now(UTC)))  # fmt: skip
    return _page(
        "Unsubscribed", "You will get no more of these messages. You can change this in your preferences."
    )

"""Signed links: what a link says comes back only from a genuine, unexpired link of its action."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import jwt
import pydantic
import pytest

from services.notifications.links import LinkClaim, Links
from services.notifications.settings import NotificationsSettings
from shared.errors import Invalid
from shared.events.notifications import Channel

SECRET = "a-test-link-secret-of-enough-length"
LINKS = Links(SECRET, "https://notify.example.org/", confirm_ttl_s=3600)


def _token(url: str) -> str:
    [token] = parse_qs(urlsplit(url).query)["token"]
    return token


def _refused(links: Links, token: str, action: str = "unsubscribe") -> str:
    with pytest.raises(Invalid) as err:
        links.verify(token, action)  # type: ignore[arg-type]
    [(field, message)] = err.value.errors
    assert field == "token"
    return message


def test_an_unsubscribe_link_round_trips() -> None:
    rid = uuid4()
    url = LINKS.unsubscribe_url(rid, Channel.SMS)
    assert url.startswith("https://notify.example.org/v1/unsubscribe?token=")
    assert LINKS.verify(_token(url), "unsubscribe") == LinkClaim("unsubscribe", rid, Channel.SMS)


def test_a_confirm_link_round_trips_with_or_without_its_subscription() -> None:
    rid, sid = uuid4(), uuid4()
    url = LINKS.confirm_url(rid, sid)
    assert url.startswith("https://notify.example.org/v1/confirm?token=")
    assert LINKS.verify(_token(url), "confirm") == LinkClaim("confirm", rid, subscription_id=sid)
    assert LINKS.verify(_token(LINKS.confirm_url(rid, None)), "confirm") == LinkClaim("confirm", rid)


def test_a_forged_or_altered_link_is_refused() -> None:
    rid = uuid4()
    forged = Links("another-secret-of-enough-length-too", "https://x", 3600).token(
        LinkClaim("unsubscribe", rid, Channel.EMAIL)
    )
    assert _refused(LINKS, forged) == "not a valid link"
    genuine = _token(LINKS.unsubscribe_url(rid, Channel.EMAIL))
    head, _, signature = genuine.split(".")
    other = _token(LINKS.unsubscribe_url(uuid4(), Channel.EMAIL)).split(".")[1]
    assert _refused(LINKS, f"{head}.{other}.{signature}") == "not a valid link"  # someone else's id
    assert _refused(LINKS, "forged.token.value") == "not a valid link"
    claims = {"act": "unsubscribe", "rid": str(rid), "aud": "sharaka-notifications-link"}
    unsigned = jwt.encode(claims, "", algorithm="none")
    assert _refused(LINKS, unsigned) == "not a valid link"


def test_a_link_of_one_action_does_not_do_the_other() -> None:
    rid = uuid4()
    assert (
        _refused(LINKS, _token(LINKS.unsubscribe_url(rid, Channel.EMAIL)), "confirm") == "not a confirm link"
    )
    assert _refused(LINKS, _token(LINKS.confirm_url(rid, None))) == "not a unsubscribe link"


def test_a_confirm_link_expires_and_an_unsubscribe_link_does_not() -> None:
    expired = Links(SECRET, "https://notify.example.org", confirm_ttl_s=-1)
    rid = uuid4()
    message = _refused(expired, _token(expired.confirm_url(rid, None)), "confirm")
    assert "expired" in message
    unsubscribe = _token(expired.unsubscribe_url(rid, Channel.EMAIL))
    assert "exp" not in jwt.decode(unsubscribe, options={"verify_signature": False})
    assert expired.verify(unsubscribe, "unsubscribe").recipient_id == rid


def test_the_preferences_url_names_the_person() -> None:
    rid = uuid4()
    assert LINKS.preferences_url(rid) == f"https://notify.example.org/v1/recipients/{rid}/preferences"


def test_the_development_link_key_is_refused_where_tokens_are_verified_with_oidc() -> None:
    with pytest.raises(pydantic.ValidationError, match="LINK_SECRET"):
        NotificationsSettings(auth_jwks_url="https://id.example.org/jwks")
    ok = NotificationsSettings(
        auth_jwks_url="https://id.example.org/jwks", link_secret="a-key-of-our-own-32-bytes-long!!"
    )
    assert ok.link_secret.get_secret_value().startswith("a-key")

"""Profiles, following, consent, STOP and erasure against the in-memory unit of work."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.notifications.domain.deliveries import CONFIRMATION, RECIPIENT_ERASED, Delivery, DeliveryStatus
from services.notifications.domain.recipients import DigestMode, QuietHours, Recipient, RecipientKind
from services.notifications.domain.triggers import ScopeType, Trigger
from services.notifications.use_cases import fan_out, people
from shared.auth import Principal, person_id
from shared.errors import Forbidden, Invalid, NotFound, RuleViolation
from shared.events.notifications import Channel
from shared.events.privacy import ErasureRequested, digest
from tests.fakes.notifications import Consent, FakeNotificationsUnitOfWork

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
EMAIL, PHONE = "amina@example.org", "+21620123456"
MEMBER = uuid4()


def who(sub: str = "amina", *roles: str) -> Principal:
    return Principal(sub, frozenset(roles or ("participant",)), frozenset())


STAFF = who("ogp", "staff")


def _profile(sub: str = "amina", **kw: object) -> people.SaveProfile:
    values: dict[str, object] = {
        "who": who(sub), "recipient_id": person_id(sub), "name": " Amina ", "email": EMAIL, "phone": PHONE,
        "language": "ar", "channels": frozenset(Channel), "digest": DigestMode.IMMEDIATE, "timezone": "Africa/Tunis",
        "quiet": None, "now": NOW,
    } | kw  # fmt: skip
    return people.SaveProfile(**values)  # type: ignore[arg-type]


async def _signed_in(uow: FakeNotificationsUnitOfWork, sub: str = "amina", **kw: object) -> Recipient:
    return await people.save_profile(uow, _profile(sub, **kw))


def _follow(sub: str = "amina", kinds: frozenset[str] = frozenset(), scope: UUID = MEMBER) -> people.Follow:
    return people.Follow(who(sub), person_id(sub), ScopeType.MEMBER, scope, kinds, NOW)


def _public(
    email: str | None = EMAIL, phone: str | None = None, kinds: frozenset[str] = frozenset()
) -> people.FollowPublicly:
    return people.FollowPublicly("Lina", email, phone, "en", ScopeType.MEMBER, MEMBER, kinds, NOW)


def _actions(uow: FakeNotificationsUnitOfWork, rid: UUID) -> list[tuple[str, str]]:
    return [(c.action, c.source) for c in uow.tables.consents_of(rid)]


# --- profiles -----------------------------------------------------------------------------------
async def test_a_signed_in_person_makes_their_profile() -> None:
    uow = FakeNotificationsUnitOfWork()
    r = await _signed_in(uow, digest=DigestMode.DAILY, quiet=QuietHours(time(22), time(7)))
    assert r.id == person_id("amina")
    stored = uow.tables.recipients[r.id]
    assert (stored.name, stored.kind, stored.language, stored.confirmed_at) == (
        "Amina",
        RecipientKind.ACCOUNT,
        "ar",
        NOW,
    )
    assert stored.next_digest_at == datetime(2025, 3, 2, 7, 0, tzinfo=UTC)  # 08:00 in Tunis
    assert stored.quiet == QuietHours(time(22), time(7))


async def test_the_built_in_rules_roles_come_from_the_person_s_own_token() -> None:
    uow = FakeNotificationsUnitOfWork()
    r = await people.save_profile(uow, _profile(who=who("amina", "moderator", "participant", "service")))
    assert r.roles == {"moderator"}
    await people.save_profile(uow, _profile(who=STAFF, name="Changed by staff"))
    assert uow.tables.recipients[r.id].roles == {"moderator"}  # staff acting for her change no roles


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"phone": "0612"}, "phone"),
        ({"language": "de"}, "language"),
        ({"timezone": "Mars/Base"}, "timezone"),
        ({"email": None, "phone": None}, "email"),  # no way to reach them
    ],
)
async def test_a_bad_profile_is_refused_naming_the_field(change: dict[str, Any], field: str) -> None:
    uow = FakeNotificationsUnitOfWork()
    with pytest.raises(Invalid) as err:
        await people.save_profile(uow, _profile(**change))
    assert err.value.errors[0][0] == field
    assert uow.tables.recipients == {}


async def test_only_the_person_or_staff_may_touch_a_profile_and_staff_cannot_create_one() -> None:
    uow = FakeNotificationsUnitOfWork()
    with pytest.raises(Forbidden):
        await people.save_profile(uow, _profile(who=who("someone-else")))
    with pytest.raises(NotFound):
        await people.save_profile(uow, _profile(who=STAFF))
    await _signed_in(uow)
    assert (await people.save_profile(uow, _profile(who=STAFF, language="fr"))).language == "fr"
    with pytest.raises(Forbidden):
        await people.profile(uow, people.Profile(who("someone-else"), person_id("amina")))
    with pytest.raises(NotFound):
        await people.profile(uow, people.Profile(who("nobody"), person_id("nobody")))


# --- following ----------------------------------------------------------------------------------
async def test_following_needs_a_profile() -> None:
    uow = FakeNotificationsUnitOfWork()
    with pytest.raises(RuleViolation) as err:
        await people.follow(uow, _follow())
    assert err.value.rule == "subscription.profile_required"


async def test_following_twice_changes_nothing_and_other_kinds_replace_the_first() -> None:
    uow = FakeNotificationsUnitOfWork()
    r = await _signed_in(uow)
    sub, changed = await people.follow(uow, _follow())
    assert changed and sub.confirmed_at == NOW
    again, changed = await people.follow(uow, _follow())
    assert (again.id, changed) == (sub.id, False)
    narrower, changed = await people.follow(uow, _follow(kinds=frozenset({"plan_submitted"})))
    assert (narrower.id, changed) == (sub.id, True)
    [stored] = uow.tables.subscriptions.values()
    assert (stored.id, stored.kinds) == (sub.id, frozenset({"plan_submitted"}))
    assert _actions(uow, r.id) == [("subscribed", "api"), ("subscribed", "api")]


async def test_following_an_unfollowable_kind_is_refused() -> None:
    uow = FakeNotificationsUnitOfWork()
    await _signed_in(uow)
    with pytest.raises(Invalid) as err:
        await people.follow(uow, _follow(kinds=frozenset({"review_assigned"})))
    assert err.value.errors[0][0] == "kinds"


async def test_someone_else_s_subscriptions_are_forbidden() -> None:
    uow = FakeNotificationsUnitOfWork()
    await _signed_in(uow)
    sub, _ = await people.follow(uow, _follow())
    intruder = who("someone-else")
    with pytest.raises(Forbidden):
        await people.unfollow(uow, people.Unfollow(intruder, sub.id))
    with pytest.raises(Forbidden):
        await people.subscriptions(uow, people.Subscriptions(intruder, person_id("amina")))
    with pytest.raises(Forbidden):
        await people.follow(
            uow, people.Follow(intruder, person_id("amina"), ScopeType.PLAN, uuid4(), frozenset(), NOW)
        )
    assert list(uow.tables.subscriptions) == [sub.id]


async def test_unfollowing_removes_the_subscription_and_is_recorded() -> None:
    uow = FakeNotificationsUnitOfWork()
    r = await _signed_in(uow)
    sub, _ = await people.follow(uow, _follow())
    await people.unfollow(uow, people.Unfollow(who(), sub.id))
    assert uow.tables.subscriptions == {}
    assert uow.tables.consents_of(r.id)[-1].action == "unsubscribed"
    assert uow.tables.consents_of(r.id)[-1].scope == f"member:{MEMBER}"
    with pytest.raises(NotFound):
        await people.unfollow(uow, people.Unfollow(who(), sub.id))


# --- following without an account --------------------------------------------------------------
async def test_a_public_follower_gets_a_confirmation_and_nothing_else_until_they_confirm() -> None:
    uow = FakeNotificationsUnitOfWork()
    await uow.lookups.save_member(MEMBER, "Tunisia")
    pending = await people.follow_publicly(uow, _public())

    person = uow.tables.recipients[pending.recipient_id]
    assert (person.kind, person.confirmed, person.channels) == (
        RecipientKind.PUBLIC,
        False,
        frozenset({Channel.EMAIL}),
    )
    assert uow.tables.subscriptions[pending.subscription_id].confirmed_at is None
    [confirmation] = uow.tables.deliveries.values()
    assert (confirmation.template, confirmation.recipient_id, confirmation.channel) == (
        CONFIRMATION, person.id, Channel.EMAIL,
    )  # fmt: skip
    assert confirmation.params == {"subscription_id": str(pending.subscription_id), "what": "Tunisia"}
    trigger = Trigger("plan_submitted", uuid4(), NOW, {ScopeType.MEMBER: MEMBER})
    assert await uow.recipients.audience(trigger, []) == []  # unconfirmed: not in any audience


async def test_asking_again_resends_the_confirmation_until_confirmed_then_nothing() -> None:
    uow = FakeNotificationsUnitOfWork()
    first = await people.follow_publicly(uow, _public())
    # The same address, later than the ten minutes in which a confirmation is sent only once.
    later = dataclasses.replace(_public(email="AMINA@example.org"), now=NOW + timedelta(minutes=11))
    second = await people.follow_publicly(uow, later)
    assert (second.recipient_id, second.subscription_id) == (first.recipient_id, first.subscription_id)
    assert len(uow.tables.deliveries) == 2
    assert await people.confirm(uow, people.Confirm(first.recipient_id, first.subscription_id, NOW))
    third = await people.follow_publicly(uow, _public())
    assert third.confirmation is None and len(uow.tables.deliveries) == 2


async def test_a_phone_only_follower_is_asked_by_sms() -> None:
    uow = FakeNotificationsUnitOfWork()
    pending = await people.follow_publicly(uow, _public(email=None, phone=PHONE))
    assert pending.confirmation is not None and pending.confirmation.channel is Channel.SMS


async def test_a_public_follow_needs_a_valid_address() -> None:
    uow = FakeNotificationsUnitOfWork()
    for bad, field in ((_public(email="nope"), "email"), (_public(email=None), "email"),
                       (_public(email=None, phone="12"), "phone")):  # fmt: skip
        with pytest.raises(Invalid) as err:
            await people.follow_publicly(uow, bad)
        assert err.value.errors[0][0] == field
    assert uow.tables.recipients == {}


async def test_confirming_confirms_the_person_and_the_subscription_once() -> None:
    uow = FakeNotificationsUnitOfWork()
    p = await people.follow_publicly(uow, _public())
    assert await people.confirm(uow, people.Confirm(p.recipient_id, p.subscription_id, NOW))
    assert not await people.confirm(uow, people.Confirm(p.recipient_id, p.subscription_id, NOW))
    assert uow.tables.recipients[p.recipient_id].confirmed_at == NOW
    assert uow.tables.subscriptions[p.subscription_id].confirmed_at == NOW
    assert _actions(uow, p.recipient_id) == [("subscribed", "public_form"), ("confirmed", "email_link")]
    with pytest.raises(NotFound):
        await people.confirm(uow, people.Confirm(uuid4(), p.subscription_id, NOW))


async def test_a_link_cannot_confirm_someone_else_s_subscription() -> None:
    uow = FakeNotificationsUnitOfWork()
    mine = await people.follow_publicly(uow, _public())
    theirs = await people.follow_publicly(uow, _public(email="other@example.org"))
    await people.confirm(uow, people.Confirm(mine.recipient_id, theirs.subscription_id, NOW))
    assert uow.tables.subscriptions[theirs.subscription_id].confirmed_at is None


# --- consent ------------------------------------------------------------------------------------
async def test_opting_out_is_recorded_once() -> None:
    uow = FakeNotificationsUnitOfWork()
    r = await _signed_in(uow)
    cmd = people.OptOut(r.id, Channel.EMAIL, "list_unsubscribe_post", NOW)
    assert await people.opt_out(uow, cmd)
    assert not await people.opt_out(uow, cmd)
    assert not await people.opt_out(uow, people.OptOut(uuid4(), Channel.EMAIL, "email_link", NOW))
    stored = uow.tables.recipients[r.id]
    assert (stored.email_opt_out_at, stored.sms_opt_out_at) == (NOW, None)
    assert uow.tables.consents_of(r.id)[-1] == Consent(r.id, "opted_out", "list_unsubscribe_post", "email")


async def test_stop_opts_out_everyone_with_the_number_and_start_brings_them_back() -> None:
    uow = FakeNotificationsUnitOfWork()
    a, b = await _signed_in(uow, "a"), await _signed_in(uow, "b")
    other = await _signed_in(uow, "c", phone="+21620999999")

    assert await people.sms_reply(uow, people.SmsReply(PHONE, stop=True, start=False, now=NOW)) == 2
    assert await people.sms_reply(uow, people.SmsReply(PHONE, stop=True, start=False, now=NOW)) == 0
    assert [uow.tables.recipients[r.id].sms_opt_out_at for r in (a, b, other)] == [NOW, NOW, None]
    assert _actions(uow, a.id)[-1] == ("opted_out", "sms_stop")

    assert await people.sms_reply(uow, people.SmsReply(PHONE, stop=False, start=True, now=NOW)) == 2
    assert await people.sms_reply(uow, people.SmsReply(PHONE, stop=False, start=True, now=NOW)) == 0
    assert uow.tables.recipients[a.id].sms_opt_out_at is None
    assert _actions(uow, a.id)[-1] == ("opted_in", "sms_start")


# --- erasure ------------------------------------------------------------------------------------
async def test_erasing_oneself_deletes_everything_held_and_asks_the_others_by_digest() -> None:
    uow = FakeNotificationsUnitOfWork()
    r = await _signed_in(uow)
    await people.follow(uow, _follow())
    public_twin = await people.follow_publicly(uow, _public(email=EMAIL.upper()))  # the same address
    pending = Delivery.queue(cause_event_id=uuid4(), template="plan_submitted", recipient_id=r.id)
    await uow.deliveries.add(pending)

    done = await people.erase(uow, people.Erase(who(), NOW, recipient_id=r.id))

    assert done.recipients_erased == 1
    assert public_twin.recipient_id == r.id  # found by address: no second person was made
    assert uow.tables.recipients == {} and uow.tables.subscriptions == {}
    stored = uow.tables.deliveries[pending.id]
    assert (stored.status, stored.last_error) == (DeliveryStatus.FAILED, RECIPIENT_ERASED.reason)
    [event] = uow.events
    assert event == ErasureRequested(erasure_id=done.erasure_id, email_sha256=digest(EMAIL),
                                     phone_sha256=digest(PHONE), requested_at=NOW)  # fmt: skip
    payload = event.model_dump_json()
    assert EMAIL not in payload and PHONE not in payload and "amina" not in payload.lower()
    assert uow.tables.erasures[done.erasure_id] == ("api", "self", 1)
    assert _actions(uow, r.id)[-1] == ("erased", "erasure_api")


async def test_staff_erase_by_address_whoever_it_names() -> None:
    uow = FakeNotificationsUnitOfWork()
    a = await _signed_in(uow, "a", phone=None)
    b = await _signed_in(uow, "b", email=None)
    kept = await _signed_in(uow, "c", email="kept@example.org", phone=None)
    done = await people.erase(uow, people.Erase(STAFF, NOW, email=" Amina@Example.org ", phone=PHONE))
    assert done.recipients_erased == 2
    assert set(uow.tables.recipients) == {kept.id}
    assert {a.id, b.id}.isdisjoint(uow.tables.recipients)
    assert uow.tables.erasures[done.erasure_id][1] == "staff"


@pytest.mark.parametrize(
    ("cmd", "error"),
    [
        (people.Erase(who(), NOW, email=EMAIL), Forbidden),  # only staff by address
        (people.Erase(who("someone-else"), NOW, recipient_id=person_id("amina")), Forbidden),
        (people.Erase(STAFF, NOW), Invalid),  # nobody named
        (people.Erase(STAFF, NOW, recipient_id=uuid4()), NotFound),
        (people.Erase(STAFF, NOW, email="not-an-email"), Invalid),
    ],
)
async def test_an_erasure_that_may_not_or_cannot_be_done_erases_nothing(
    cmd: people.Erase, error: type[Exception]
) -> None:
    uow = FakeNotificationsUnitOfWork()
    await _signed_in(uow)
    with pytest.raises(error):
        await people.erase(uow, cmd)
    assert len(uow.tables.recipients) == 1 and uow.events == []


async def test_the_digests_of_an_erased_person_go_with_them() -> None:
    uow = FakeNotificationsUnitOfWork()
    r = await _signed_in(uow, digest=DigestMode.WEEKLY)
    await people.follow(uow, _follow())
    await fan_out.notify(uow, Trigger("plan_submitted", uuid4(), NOW - timedelta(hours=1), {ScopeType.MEMBER: MEMBER},
                                      {"submitted_on": "2025-03-01"}))  # fmt: skip
    assert len(uow.tables.held_for(r.id)) == 1
    await people.erase(uow, people.Erase(who(), NOW, recipient_id=r.id))
    assert uow.tables.digest_items == {}


async def test_a_public_request_does_not_change_a_confirmed_subscription_before_it_is_confirmed() -> None:
    uow = FakeNotificationsUnitOfWork()
    await _signed_in(uow)
    sub, _ = await people.follow(uow, _follow())
    await people.follow_publicly(
        uow, _public(kinds=frozenset({"plan_submitted"}))
    )  # anyone knowing the address
    stored = uow.tables.subscriptions[sub.id]
    assert (stored.confirmed_at, stored.kinds) == (NOW, frozenset())


async def test_the_public_form_sent_again_and_again_sends_one_confirmation_per_ten_minutes() -> None:
    uow = FakeNotificationsUnitOfWork()
    ask = people.FollowPublicly(
        "Lina", "lina@example.org", None, "en", ScopeType.PLAN, uuid4(), frozenset(), NOW
    )
    first = await people.follow_publicly(uow, ask)
    again = await people.follow_publicly(uow, ask)
    assert first.confirmation is not None and again.confirmation is None
    later = await people.follow_publicly(uow, dataclasses.replace(ask, now=NOW + timedelta(minutes=11)))
    assert later.confirmation is not None
    assert sum(d.template == "subscription_confirm" for d in uow.tables.deliveries.values()) == 2

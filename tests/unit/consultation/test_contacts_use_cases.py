"""An author's contact left to hear of the response (``notify``), and erasing it again, in memory."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.consultation.domain.contacts import ContactRequest
from services.consultation.domain.inputs import Text
from services.consultation.use_cases import contacts, inputs
from shared.errors import Invalid, RuleViolation
from shared.events import topics
from shared.events.consultation import AuthorContactRegistered, CommentAdded, InputKind, SubmissionReceived
from shared.events.privacy import digest
from tests.fakes.consultation import FakeConsultationUnitOfWork
from tests.unit.consultation.helpers import open_round, person, with_plan

LIMIT = inputs.RateLimit(10, timedelta(minutes=1))


def post(round_id: UUID, notify: ContactRequest | None, **over: Any) -> inputs.PostInput:
    values: dict[str, Any] = {
        "who": person(1), "round_id": round_id, "kind": InputKind.COMMENT,
        "text": Text(None, "Publish all contracts", language="fr"), "limit": LIMIT, "max_chars": 1000,
        "notify": notify,
    }  # fmt: skip
    return inputs.PostInput(**(values | over))


async def posted_round() -> tuple[FakeConsultationUnitOfWork, UUID]:
    uow, plan_id, _ = with_plan()
    rnd = await open_round(uow, plan_id)
    return uow, rnd.id


# --- opting in -----------------------------------------------------------------------------------


async def test_a_contact_is_stored_normalised_and_published_privately_with_the_input() -> None:
    uow, rid = await posted_round()
    notify = ContactRequest(email="  Salma.BenAli@Example.TN ", phone="+216 71 123 456")
    text = Text(None, "Publish all contracts", language="fr-TN", display_name="Salma")
    item = await inputs.post_input(uow, post(rid, notify, text=text))

    public, private = uow.events
    assert isinstance(public, CommentAdded) and public.comment_id == item.id
    assert isinstance(private, AuthorContactRegistered)
    assert private.topic == topics.CONSULTATION_CONTACTS and not private.public
    assert (private.input_id, private.round_id, private.plan_id) == (item.id, rid, item.plan_id)
    # Lower-cased whole, E.164; the name and language default to the input's.
    assert (private.name, private.email, private.phone, private.language) == (
        "Salma", "salma.benali@example.tn", "+21671123456", "fr",
    )  # fmt: skip
    assert "salma" not in public.model_dump_json().lower()
    stored = uow.tables.author_contacts[item.id]
    assert stored.details.email == "salma.benali@example.tn" and stored.round_id == rid


async def test_without_notify_nothing_else_is_written() -> None:
    uow, rid = await posted_round()
    await inputs.post_input(uow, post(rid, None, kind=InputKind.SUBMISSION))
    [event] = uow.events
    assert isinstance(event, SubmissionReceived)
    assert uow.tables.author_contacts == {}


async def test_defaults_and_explicit_choices() -> None:
    uow, rid = await posted_round()
    # No display name, an input language notifications do not speak: no name, English.
    a = await inputs.post_input(
        uow, post(rid, ContactRequest(phone="+33612345678"), text=Text(None, "one", language="de"))
    )
    b = await inputs.post_input(
        uow,
        post(rid, ContactRequest(name="  Amel  ", email="amel@example.org", language="ar"),
             text=Text(None, "two", display_name="A.")),
    )  # fmt: skip
    got = {k: (c.details.name, c.details.email, c.details.phone, c.details.language)
           for k, c in uow.tables.author_contacts.items()}  # fmt: skip
    assert got == {
        a.id: ("", None, "+33612345678", "en"),
        b.id: ("Amel", "amel@example.org", None, "ar"),
    }


@pytest.mark.parametrize(
    ("notify", "fields"),
    [
        (ContactRequest(email="not-an-address"), ["notify.email"]),
        (ContactRequest(email="someone@localhost"), ["notify.email"]),
        (ContactRequest(phone="71 123 456"), ["notify.phone"]),  # not international
        (ContactRequest(phone="+216 12"), ["notify.phone"]),
        (ContactRequest(phone="call me"), ["notify.phone"]),
        (ContactRequest(email="a@example.org", language="de"), ["notify.language"]),
        (ContactRequest(email="a@example.org", language=""), ["notify.language"]),
        (ContactRequest(name="Only a name"), ["notify"]),
        (ContactRequest(email="   ", phone=""), ["notify"]),
        (
            ContactRequest(email="x@", phone="+1", language="xx"),
            ["notify.email", "notify.phone", "notify.language"],
        ),
    ],
)
async def test_an_unusable_contact_is_refused_before_anything_is_written(
    notify: ContactRequest, fields: list[str]
) -> None:
    uow, rid = await posted_round()
    with pytest.raises(Invalid) as err:
        await inputs.post_input(uow, post(rid, notify))
    assert [f for f, _ in err.value.errors] == fields
    # The refusal names the field, never the value.
    for raw in (notify.email, notify.phone):
        if raw and raw.strip():
            assert raw.strip() not in str(err.value.errors) and raw.strip() not in err.value.message
    assert uow.events == [] and uow.tables.inputs == {} and uow.tables.author_contacts == {}
    assert uow.tables.counts == {}  # not even counted against the author's rate window


async def test_a_duplicate_input_leaves_no_contact() -> None:
    uow, rid = await posted_round()
    notify = ContactRequest(email="amel@example.org")
    await inputs.post_input(uow, post(rid, notify))
    uow.events.clear()
    with pytest.raises(RuleViolation, match="already posted"):
        await inputs.post_input(uow, post(rid, notify))
    assert uow.events == [] and len(uow.tables.author_contacts) == 1


# --- erasure -------------------------------------------------------------------------------------


async def with_contacts() -> tuple[FakeConsultationUnitOfWork, dict[str, UUID]]:
    uow, rid = await posted_round()
    made = {}
    for key, notify in {
        "salma_mail": ContactRequest(email="salma@example.tn"),
        "salma_both": ContactRequest(email="SALMA@example.tn", phone="+216 71 123 456"),
        "salma_phone": ContactRequest(phone="+21671123456"),
        "other": ContactRequest(email="other@example.tn", phone="+33612345678"),
    }.items():
        made[key] = (await inputs.post_input(uow, post(rid, notify, text=Text(None, key)))).id
    uow.events.clear()
    return uow, made


async def test_erasure_deletes_by_either_digest_and_forgets_each_input() -> None:
    uow, made = await with_contacts()
    erasure_id = uuid4()
    cmd = contacts.EraseContacts(erasure_id, digest(" Salma@Example.tn"), digest("+21671123456"))
    done = await contacts.erase_contacts(uow, cmd)

    salma = sorted(made[k] for k in ("salma_mail", "salma_both", "salma_phone"))
    assert (done.contacts_erased, done.already_applied) == (3, False)
    assert set(uow.tables.author_contacts) == {made["other"]}
    assert uow.forgotten == [(topics.CONSULTATION_CONTACTS, str(i)) for i in salma]
    assert uow.events == []  # nothing public about an erasure
    assert uow.tables.erasures == {erasure_id: 3}
    assert set(uow.tables.inputs) == set(made.values())  # the inputs stay, as public record


async def test_erasure_by_one_digest_only() -> None:
    uow, made = await with_contacts()
    done = await contacts.erase_contacts(uow, contacts.EraseContacts(uuid4(), None, digest("+33612345678")))
    assert done.contacts_erased == 1 and made["other"] not in uow.tables.author_contacts
    assert uow.forgotten == [(topics.CONSULTATION_CONTACTS, str(made["other"]))]


async def test_the_same_erasure_twice_changes_nothing() -> None:
    uow, _ = await with_contacts()
    cmd = contacts.EraseContacts(uuid4(), digest("salma@example.tn"), None)
    first = await contacts.erase_contacts(uow, cmd)
    assert first.contacts_erased == 2
    # Salma opts in again afterwards (a new consent); a replay of the old request keeps it.
    again_id = (await inputs.post_input(uow, post(next(iter(uow.tables.rounds)), ContactRequest(
        email="salma@example.tn"), text=Text(None, "new input")))).id  # fmt: skip
    forgotten, events = list(uow.forgotten), list(uow.events)
    replay = await contacts.erase_contacts(uow, cmd)
    assert (replay.contacts_erased, replay.already_applied) == (0, True)
    assert uow.forgotten == forgotten and uow.events == events
    assert again_id in uow.tables.author_contacts
    assert uow.tables.erasures == {cmd.erasure_id: 2}


async def test_an_erasure_that_matches_no_one_is_still_recorded() -> None:
    uow, _ = await with_contacts()
    done = await contacts.erase_contacts(
        uow, contacts.EraseContacts(uuid4(), digest("nobody@example.org"), None)
    )
    empty = await contacts.erase_contacts(uow, contacts.EraseContacts(uuid4(), None, None))
    assert done.contacts_erased == empty.contacts_erased == 0
    assert len(uow.tables.author_contacts) == 4 and uow.forgotten == []
    assert sorted(uow.tables.erasures.values()) == [0, 0]


async def test_digests_are_compared_whatever_their_hex_case() -> None:
    uow, made = await with_contacts()
    other = made["other"]
    upper = digest("other@example.tn").upper()
    done = await contacts.erase_contacts(uow, contacts.EraseContacts(uuid4(), f" {upper} ", None))
    assert done.contacts_erased == 1 and other not in uow.tables.author_contacts

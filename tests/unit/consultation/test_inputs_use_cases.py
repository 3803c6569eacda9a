"""Submissions, comments and moderation: each use case's rules and refusals, in memory."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from services.consultation.domain.common import text_hash
from services.consultation.domain.inputs import Anchor, Counted, Text
from services.consultation.use_cases import inputs, rounds
from shared.auth import Principal
from shared.errors import Invalid, NotFound, RateLimited, RuleViolation
from shared.events.consultation import (
    AnchorType,
    CommentAdded,
    CommentModerated,
    InputKind,
    ModerationAction,
    RoundKind,
    SubmissionReceived,
)
from tests.fakes.consultation import FakeConsultationUnitOfWork
from tests.unit.consultation.helpers import (
    GOVERNMENT,
    MODERATOR,
    OTHER_GOVERNMENT,
    STAFF,
    now,
    open_round,
    person,
    scheduled_round,
    with_plan,
)

LIMIT = inputs.RateLimit(3, timedelta(minutes=1))


def post(round_id: UUID, body: str = "Publish all contracts", **over: object) -> inputs.PostInput:
    values: dict[str, object] = {
        "who": person(1), "round_id": round_id, "kind": InputKind.SUBMISSION,
        "text": Text("Open data", body, links=["https://ogp.example/a"]), "limit": LIMIT, "max_chars": 100,
    }  # fmt: skip
    return inputs.PostInput(**(values | over))  # type: ignore[arg-type]


async def test_a_submission_is_stored_with_its_event_and_masked_text() -> None:
    uow, plan_id, _ = with_plan()
    rnd = await open_round(uow, plan_id)
    item = await inputs.post_input(uow, post(rnd.id, "call me on +216 71 123 456"))
    assert item.seq == 1 and not item.official
    stored = uow.tables.inputs[item.id]
    assert stored.text.body == "call me on +216 71 123 456"  # moderators see it whole
    assert stored.public_body == "call me on [phone removed]"
    assert stored.anchor == Anchor(AnchorType.PLAN)
    assert stored.text_hash == text_hash("Open data", "call me on +216 71 123 456")
    [event] = uow.events
    assert isinstance(event, SubmissionReceived)
    assert (event.submission_id, event.round_id, event.plan_id, event.anchor_type) == (
        item.id, rnd.id, plan_id, AnchorType.PLAN,
    )  # fmt: skip


async def test_a_reply_takes_its_parents_anchor_and_a_commitment_round_its_commitment() -> None:
    uow, plan_id, commitment_id = with_plan()
    rnd = await open_round(uow, plan_id, kind=RoundKind.COMMITMENT_DRAFT, commitment_id=commitment_id)
    first = await inputs.post_input(uow, post(rnd.id))
    assert first.anchor == Anchor(AnchorType.COMMITMENT, commitment_id)
    reply = await inputs.post_input(
        uow, post(rnd.id, "Agreed", kind=InputKind.COMMENT, parent_id=first.id, who=person(2))
    )
    assert (reply.parent_id, reply.anchor) == (first.id, first.anchor)
    event = uow.events[-1]
    assert isinstance(event, CommentAdded) and event.parent_id == first.id


async def test_a_passage_anchor_is_masked_and_a_given_commitment_must_be_the_plans() -> None:
    uow, plan_id, commitment_id = with_plan()
    rnd = await open_round(uow, plan_id)
    passage = Anchor(AnchorType.PASSAGE, section="2.1", quote="write to a@b.org")
    item = await inputs.post_input(uow, post(rnd.id, anchor=passage))
    assert item.anchor == Anchor(AnchorType.PASSAGE, section="2.1", quote="write to [e-mail removed]")
    about = Anchor(AnchorType.COMMITMENT, commitment_id)
    assert (await inputs.post_input(uow, post(rnd.id, "other", anchor=about))).anchor == about


@pytest.mark.parametrize(
    ("anchor", "field", "message"),
    [
        (
            Anchor(AnchorType.PLAN, section="1"),
            "anchor",
            "a plan anchor takes no commitment, section or quote",
        ),
        (Anchor(AnchorType.PASSAGE), "anchor.quote", "a passage anchor needs a section or a quote"),
        (Anchor(AnchorType.COMMITMENT), "anchor.commitment_id", "a commitment anchor names its commitment"),
    ],
)
async def test_a_malformed_anchor_is_refused(anchor: Anchor, field: str, message: str) -> None:
    uow, plan_id, _ = with_plan()
    rnd = await open_round(uow, plan_id)
    with pytest.raises(Invalid) as err:
        await inputs.post_input(uow, post(rnd.id, anchor=anchor))
    assert err.value.errors == [(field, message)]
    assert uow.events == [] and uow.tables.inputs == {}


async def test_unknown_round_parent_or_commitment_and_oversize_text_are_refused() -> None:
    uow, plan_id, _ = with_plan()
    rnd = await open_round(uow, plan_id)
    with pytest.raises(Invalid) as long:
        await inputs.post_input(uow, post(rnd.id, "x" * 101))
    assert long.value.errors == [("body", "at most 100 characters")]
    with pytest.raises(NotFound) as missing:
        await inputs.post_input(uow, post(uuid4()))
    assert missing.value.what.startswith("round ")
    parent = uuid4()
    with pytest.raises(Invalid) as orphan:
        await inputs.post_input(uow, post(rnd.id, kind=InputKind.COMMENT, parent_id=parent))
    assert orphan.value.errors == [("parent_id", f"the round has no submission or comment {parent}")]
    elsewhere = uuid4()
    with pytest.raises(Invalid) as other:
        await inputs.post_input(uow, post(rnd.id, anchor=Anchor(AnchorType.COMMITMENT, elsewhere)))
    assert other.value.errors == [("anchor.commitment_id", f"the plan has no commitment {elsewhere}")]
    assert uow.events == [] and uow.tables.inputs == {}


async def test_only_an_open_round_takes_input() -> None:
    uow, plan_id, _ = with_plan()
    scheduled = await scheduled_round(uow, plan_id)
    with pytest.raises(RuleViolation) as err:
        await inputs.post_input(uow, post(scheduled.id))
    assert (err.value.rule, err.value.message) == (
        "round_not_open",
        "the round is scheduled; it takes no input",
    )
    running = await open_round(uow, plan_id)
    uow.tables.rounds[running.id].closes_at = now() - timedelta(seconds=1)  # the timer has not run yet
    with pytest.raises(RuleViolation) as late:
        await inputs.post_input(uow, post(running.id))
    assert late.value.message == "the round is closed; it takes no input"
    assert uow.events == [] and uow.tables.counts == {}  # a refused post counts nothing


async def test_the_same_text_twice_names_the_first_copy() -> None:
    uow, plan_id, _ = with_plan()
    rnd = await open_round(uow, plan_id)
    first = await inputs.post_input(uow, post(rnd.id, "Publish ALL  contracts"))
    uow.events.clear()
    with pytest.raises(RuleViolation) as err:
        await inputs.post_input(uow, post(rnd.id, "publish all contracts"))
    assert (err.value.rule, err.value.message) == (
        "duplicate_text", f"you already posted this text in this round as {first.id}",
    )  # fmt: skip
    assert uow.events == []
    await inputs.post_input(uow, post(rnd.id, "publish all contracts", who=person(2)))  # someone else may


async def test_more_inputs_than_the_limit_in_a_window_is_a_429_except_for_officials() -> None:
    uow, plan_id, _ = with_plan()
    rnd = await open_round(uow, plan_id)
    for n in range(3):
        await inputs.post_input(uow, post(rnd.id, f"idea {n}"))
    uow.events.clear()
    with pytest.raises(RateLimited) as err:
        await inputs.post_input(uow, post(rnd.id, "idea 4"))
    assert 1 <= err.value.retry_after_s <= 60
    assert err.value.message == f"too many inputs from you; try again in {err.value.retry_after_s} s"
    assert uow.events == []
    # The plan's own government and staff answer in threads: not limited, and marked official.
    for who in (GOVERNMENT, STAFF):
        uow.tables.counts[who.subject] = Counted(uuid4(), now(), 100)
        answer = await inputs.post_input(uow, post(rnd.id, f"answer of {who.subject}", who=who))
        assert answer.official
    # A government of another member is a participant here.
    uow.tables.counts[OTHER_GOVERNMENT.subject] = Counted(uuid4(), now(), 100)
    with pytest.raises(RateLimited):
        await inputs.post_input(uow, post(rnd.id, "idea", who=OTHER_GOVERNMENT))


# --- moderation ----------------------------------------------------------------------------------


async def posted(uow: FakeConsultationUnitOfWork) -> UUID:
    rnd = await open_round(uow, next(iter(uow.tables.spaces)))
    item = await inputs.post_input(uow, post(rnd.id, kind=InputKind.COMMENT))
    uow.events.clear()
    return item.id


def flag(input_id: UUID, who: Principal, limit: inputs.RateLimit = LIMIT) -> inputs.FlagInput:
    return inputs.FlagInput(who, input_id, "insulting", limit)


async def test_the_first_flag_is_published_later_ones_only_counted_and_each_person_flags_once() -> None:
    uow, _, _ = with_plan()
    input_id = await posted(uow)
    first = await inputs.flag_input(uow, flag(input_id, person(7)))
    assert (first.flags, first.already_flagged) == (1, False)
    [event] = uow.events
    assert isinstance(event, CommentModerated)
    assert (event.action, event.visible, event.input_kind) == (
        ModerationAction.FLAGGED,
        True,
        InputKind.COMMENT,
    )
    again = await inputs.flag_input(uow, flag(input_id, person(7)))
    assert (again.flags, again.already_flagged) == (1, True)
    second = await inputs.flag_input(uow, flag(input_id, person(8)))
    assert (second.flags, second.already_flagged) == (2, False)
    assert len(uow.events) == 1 and [e.action for e in uow.tables.moderation_log] == ["flagged"] * 2
    with pytest.raises(NotFound):
        await inputs.flag_input(uow, flag(uuid4(), person(7)))


async def test_flags_count_in_the_window_except_for_moderators() -> None:
    uow, _, _ = with_plan()
    input_id = await posted(uow)
    uow.tables.counts[person(9).subject] = Counted(uuid4(), now(), 3)
    with pytest.raises(RateLimited):
        await inputs.flag_input(uow, flag(input_id, person(9)))
    assert uow.events == [] and uow.tables.flags == set()
    uow.tables.counts[MODERATOR.subject] = Counted(uuid4(), now(), 30)
    assert not (await inputs.flag_input(uow, flag(input_id, MODERATOR))).already_flagged


async def test_hide_and_restore_empty_the_queue_and_refuse_a_repeat() -> None:
    uow, _, _ = with_plan()
    input_id = await posted(uow)
    await inputs.flag_input(uow, flag(input_id, person(7)))
    uow.events.clear()
    hidden = await inputs.hide_input(uow, inputs.HideInput(MODERATOR, input_id, "insults", note="case 12"))
    assert (hidden.hidden, hidden.hidden_reason, hidden.flags) == (True, "insults", 0)
    [event] = uow.events
    assert isinstance(event, CommentModerated)
    assert (event.action, event.visible, event.public_reason) == (ModerationAction.HIDDEN, False, "insults")
    uow.events.clear()
    with pytest.raises(RuleViolation) as twice:
        await inputs.hide_input(uow, inputs.HideInput(MODERATOR, input_id, "again"))
    assert (twice.value.rule, twice.value.message) == ("already_hidden", "the input is already hidden")
    assert uow.events == []

    restored = await inputs.restore_input(uow, inputs.RestoreInput(MODERATOR, input_id))
    assert (restored.hidden, restored.hidden_reason) == (False, None)
    [event] = uow.events
    assert isinstance(event, CommentModerated) and (event.action, event.visible) == (
        ModerationAction.RESTORED,
        True,
    )
    uow.events.clear()
    with pytest.raises(RuleViolation) as visible:
        await inputs.restore_input(uow, inputs.RestoreInput(MODERATOR, input_id))
    assert (visible.value.rule, visible.value.message) == ("not_hidden", "the input is not hidden")
    with pytest.raises(NotFound):
        await inputs.hide_input(uow, inputs.HideInput(MODERATOR, uuid4(), "x"))
    assert uow.events == []
    log = [(e.action.value, e.actor) for e in uow.tables.moderation_log]
    assert log == [("flagged", "person-7"), ("hidden", "mod-1"), ("restored", "mod-1")]


async def test_a_round_closing_counts_what_it_took() -> None:
    uow, plan_id, _ = with_plan()
    rnd = await open_round(uow, plan_id)
    await inputs.post_input(uow, post(rnd.id))
    await inputs.post_input(uow, post(rnd.id, "a comment", kind=InputKind.COMMENT))
    uow.tables.rounds[rnd.id].closes_at = now() - timedelta(seconds=1)
    uow.events.clear()
    await rounds.close_due_rounds(uow, rounds.CloseDueRounds(10, 5))
    closed = uow.events[0]
    assert (closed.submissions, closed.comments) == (1, 1)  # type: ignore[attr-defined]

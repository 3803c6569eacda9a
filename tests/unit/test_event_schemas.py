import copy

from shared.events.base import event_types
from shared.events.schemas import breaking_changes, check, current_schemas


def test_committed_schemas_match_the_models_without_breaking_changes() -> None:
    assert check() == []


def test_every_type_carries_its_version_and_public_events_carry_no_contact_details() -> None:
    for name, model in event_types().items():
        assert name.rsplit(".", 1)[-1].startswith("v")
        if model.public:
            fields = set(model.model_fields)
            assert not fields & {"email", "phone", "name_of_contact", "address"}, name


def _schema() -> dict:
    return copy.deepcopy(current_schemas()["ogp.plans.plan_submitted.v1"])


def test_adding_an_optional_field_is_compatible() -> None:
    old, new = _schema(), _schema()
    new["properties"]["note"] = {"type": "string"}
    assert breaking_changes(old, new) == []


def test_removing_a_field_breaks() -> None:
    old, new = _schema(), _schema()
    del new["properties"]["title"]
    assert any("title: field removed" in p for p in breaking_changes(old, new))


def test_retyping_a_field_breaks() -> None:
    old, new = _schema(), _schema()
    new["properties"]["commitment_count"] = {"type": "string"}
    assert any("commitment_count" in p for p in breaking_changes(old, new))


def test_a_new_required_field_breaks() -> None:
    old, new = _schema(), _schema()
    new["properties"]["note"] = {"type": "string"}
    new["required"] = [*new["required"], "note"]
    assert any("note: field became required" in p for p in breaking_changes(old, new))


def test_dropping_an_enum_value_breaks_adding_one_does_not() -> None:
    old = copy.deepcopy(current_schemas()["ogp.plans.member_created.v1"])
    new = copy.deepcopy(old)
    new["$defs"]["MemberKind"]["enum"] = ["national", "local"]
    assert any("enum values removed" in p for p in breaking_changes(old, new))
    new["$defs"]["MemberKind"]["enum"] = ["national", "local", "parliament", "regional"]
    assert breaking_changes(old, new) == []

import copy

import pytest

from shared.events import topics
from shared.events.base import event_types
from shared.events.schemas import (
    breaking_changes,
    check,
    current_schemas,
    is_personal_field,
    personal_data_problems,
    personal_fields,
)


def test_committed_schemas_match_the_models_without_breaking_changes() -> None:
    assert check() == []


def test_every_type_carries_its_version_and_public_events_carry_no_contact_details() -> None:
    for name in event_types():
        assert name.rsplit(".", 1)[-1].startswith("v")
    schemas = current_schemas()
    assert personal_data_problems(schemas) == []
    # Contact details travel only on the private contacts topics, and erasures only as digests.
    carrying = {n: personal_fields(s) for n, s in schemas.items() if personal_fields(s)}
    assert carrying == {
        "sharaka.consultation.author_contact_registered.v1": ["$.email", "$.phone"],
        "sharaka.plans.contact_registered.v1": ["$.email", "$.phone"],
        "sharaka.privacy.erasure_requested.v1": ["$.email_sha256", "$.phone_sha256"],
    }


@pytest.mark.parametrize(
    "name",
    ["email", "contact_email", "emailAddress", "e_mail", "phone", "mobile_number", "msisdn",
     "telephone", "fax", "postal_address", "street", "home_address", "date_of_birth", "first_name",
     "last_name", "full_name", "contact_name", "name_of_contact", "author_name", "surname",
     "passport_number", "ip_address", "email_sha256", "whatsapp"],
)  # fmt: skip
def test_a_personal_field_is_found_whatever_it_is_prefixed_with(name: str) -> None:
    assert is_personal_field(name)


@pytest.mark.parametrize(
    "name",
    ["name", "title", "plan_id", "recipient_id", "point_of_contact_id", "contact_id", "member_id",
     "country_code", "region", "channel", "template", "detail", "url", "minutes_url", "email_id"],
)  # fmt: skip
def test_names_of_things_and_opaque_ids_are_not_personal(name: str) -> None:
    assert not is_personal_field(name)


def test_a_public_contract_with_a_nested_contact_fails_the_check() -> None:
    schema = _schema()
    schema["$defs"] = {"Who": {"type": "object", "properties": {"contact_phone": {"type": "string"}}}}
    schema["properties"]["submitter"] = {"$ref": "#/$defs/Who"}
    schema["properties"]["author_name"] = {"type": "string"}
    problems = personal_data_problems({"ogp.plans.plan_submitted.v1": schema})
    assert problems == [
        "ogp.plans.plan_submitted.v1 $.author_name: personal data outside the private contacts topics",
        "ogp.plans.plan_submitted.v1 $defs.Who.contact_phone: personal data outside the private contacts topics",
    ]
    # The same fields are allowed on a private contacts topic; digests only on the erasure topic.
    assert personal_data_problems({"x": schema | {"x-sharaka-topic": topics.PLANS_CONTACTS}}) == []
    hashed = {"x-sharaka-topic": topics.ERASURES, "properties": {"email_sha256": {}, "email": {}}}
    assert personal_data_problems({"x": hashed}) == [
        "x $.email: personal data outside the private contacts topics"
    ]


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

"""Field rules of identity input: one canonical form per email, one line per text field, ids PostgreSQL can
hold, roles an API caller can give, and organisation examples that validate as documented."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from node.identity.schemas import (
    ORGANISATION_EXAMPLES,
    NewOrganisation,
    OrganisationIn,
    OrganisationUpdate,
    UserIn,
    UserUpdate,
    lookup_email,
    normalise_email,
)

CONTACT = {"tax_id": "NG-1", "email": "org@example.org", "phone": "+234 800 000 0000", "address": "1 Road, Abuja"}


@pytest.mark.parametrize(
    "typed",
    ["gov.admin@example.org", "ｇov.admin@example.org", "GOV.ADMIN@EXAMPLE.ORG", "  Gov.Admin@ｅｘａｍｐｌｅ.org "],
)
def test_width_case_and_spacing_variants_of_an_email_are_one_address(typed: str) -> None:
    assert normalise_email(typed) == "gov.admin@example.org"
    assert lookup_email(typed) == "gov.admin@example.org"
    assert UserIn(email=typed, name="Gov").email == "gov.admin@example.org"


def test_case_folding_goes_beyond_lower_case() -> None:
    assert normalise_email("STRASSE@example.org") == normalise_email("straße@example.org") == "strasse@example.org"


def test_an_invalid_address_is_refused_when_stored_but_only_fails_to_match_when_looked_up() -> None:
    with pytest.raises(ValueError, match="@"):
        normalise_email("not-an-email")
    assert lookup_email("Not-An-Email") == "not-an-email"
    assert lookup_email("root@registry.local") == "root@registry.local"  # setup's default Root, a special-use name


@pytest.mark.parametrize(
    "name",
    ["Eve\r\nINFO forged log line", "Eve\nAdmin", "Eve\tTab", "Eve\x1b[31m", "Eve\u202eevil", "Eve\u200bZero",
     "Eve\u2028Line", "Eve\x85Next", "Eve\ufeff"],
)  # fmt: skip
def test_names_with_control_or_invisible_characters_are_refused(name: str) -> None:
    with pytest.raises(ValidationError, match="one line without control"):
        UserIn(email="eve@example.org", name=name)
    with pytest.raises(ValidationError, match="one line without control"):
        UserUpdate(name=name)


def test_every_single_line_field_of_an_organisation_refuses_a_line_break() -> None:
    for field in ("name", "tax_id", "address"):
        values = {"name": "Org", "role": "ProgrammeDeveloper", **CONTACT, field: "first\r\nsecond"}
        with pytest.raises(ValidationError) as refused:
            OrganisationIn.model_validate(values)
        assert [e["loc"] for e in refused.value.errors()] == [(field,)]
        with pytest.raises(ValidationError):
            OrganisationUpdate.model_validate({field: "first\nsecond"})


def test_accents_other_scripts_spaces_and_joiners_stay_allowed() -> None:
    for name in ("Amina Bello", "Chloé d'Aubigné-Núñez", "محمد علی", "می\u200cخواهم", "👩\u200d💻 Team", "李 小龍"):
        assert UserIn(email="a@example.org", name=name).name == name


def test_surrounding_whitespace_including_a_trailing_newline_is_trimmed_not_refused() -> None:
    assert UserIn(email="a@example.org", name="  Amina\n").name == "Amina"


def test_root_is_not_a_role_an_api_caller_can_give() -> None:
    for role in ("Root", "root", "SuperAdmin", ""):
        with pytest.raises(ValidationError):
            UserIn(email="a@example.org", name="A", role=role)
        with pytest.raises(ValidationError):
            UserUpdate(role=role)
    schema = UserIn.model_json_schema()["properties"]["role"]
    assert schema["enum"] == ["Admin", "Manager", "ViewOnly"]


def test_every_documented_organisation_example_validates() -> None:
    roles = {NewOrganisation.model_validate(example).role for example in ORGANISATION_EXAMPLES}
    assert {"ProgrammeDeveloper", "API"} <= roles
    assert NewOrganisation.model_json_schema()["examples"] == ORGANISATION_EXAMPLES


def test_the_schema_says_which_contact_fields_each_role_needs() -> None:
    schema = NewOrganisation.model_json_schema()
    assert "except ``API``" in schema["description"]
    for field in ("tax_id", "email", "phone", "address"):
        assert "Required unless the organisation's role is API" in schema["properties"][field]["description"]
    with pytest.raises(ValidationError, match="tax_id, email, phone, address required for a Certifier"):
        OrganisationIn(name="Verifier", role="Certifier")
    assert OrganisationIn(name="MRV", role="API").tax_id is None

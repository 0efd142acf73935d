"""The node's errors in the page's language (api/web/messages.py): templates translated, values formatted for the
language, pydantic's errors worded by type, and nothing English left in a French or Spanish message."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import BaseModel, Field, ValidationError, field_validator

from api.web.messages import problem_message, validation_message
from node.errors import InvalidInput, InvalidState, invalid_value


class _Form(BaseModel):
    name: str = Field(max_length=5)
    amount: Decimal = Field(gt=0, decimal_places=2)
    code: str = ""

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if value == "long":
            raise invalid_value("Enter at most {max_length} characters.", max_length=1000)
        if value == "blank":
            raise ValueError("This value is not valid.")
        if value == "library":
            raise ValueError("an English sentence from a library")
        return value


def _errors(**data: object) -> dict[str, object]:
    with pytest.raises(ValidationError) as caught:
        _Form.model_validate({"name": "ok", "amount": "1", **data})
    return {str(item["loc"][0]): item for item in caught.value.errors()}


def test_a_problem_is_translated_and_its_numbers_formatted_for_the_language() -> None:
    error = InvalidInput("Enter at most {max_length} characters.", params={"max_length": 1234567})
    assert error.detail == "Enter at most 1234567 characters."
    assert problem_message(error, "en") == "Enter at most 1,234,567 characters."
    assert problem_message(error, "fr") == "Saisissez au plus 1\u202f234\u202f567 caractères."
    assert problem_message(error, "es") == "Introduzca como máximo 1.234.567 caracteres."


def test_a_problem_without_values_is_not_read_as_a_format_string() -> None:
    error = InvalidState("Braces {like these} stay as they are.")
    assert error.detail == "Braces {like these} stay as they are."
    assert problem_message(error, "fr") == "Braces {like these} stay as they are."


def test_a_code_word_among_the_values_is_translated_too() -> None:
    error = InvalidState("Enter at most {max_length} characters.", params={"max_length": "Authorised"})
    assert problem_message(error, "fr") == "Saisissez au plus Autorisé caractères."


def test_pydantic_errors_are_worded_by_type_in_the_pages_language() -> None:
    found = _errors(name="toolong", amount="-1")
    assert validation_message(found["name"], "fr") == "Saisissez au plus 5 caractères."  # type: ignore[arg-type]
    assert validation_message(found["amount"], "es") == "Introduzca un número mayor que 0."  # type: ignore[arg-type]
    assert validation_message(_errors(amount="1.234")["amount"], "en") == "Use at most 2 decimal places."  # type: ignore[arg-type]


def test_a_validators_template_and_constant_message_are_translated() -> None:
    assert validation_message(_errors(code="long")["code"], "fr") == "Saisissez au plus 1\u202f000 caractères."  # type: ignore[arg-type]
    assert validation_message(_errors(code="blank")["code"], "es") == "Este valor no es válido."  # type: ignore[arg-type]


def test_a_message_without_translation_is_a_general_sentence_not_english() -> None:
    item = _errors(code="library")["code"]
    assert validation_message(item, "fr") == "Cette valeur n'est pas valide."  # type: ignore[arg-type]
    assert validation_message(item, "en") == "An English sentence from a library"  # type: ignore[arg-type]


def test_ids_are_shown_as_they_are_and_quantities_grouped() -> None:
    error = InvalidInput(
        "Enter at most {max_length} characters.", params={"max_length": 1234567, "programme_id": 98765}
    )
    assert problem_message(error, "en") == "Enter at most 1,234,567 characters."
    from api.web.messages import _filled

    assert _filled("{programme_id} / {amount}", {"programme_id": 98765, "amount": 98765}, "en") == "98765 / 98,765"

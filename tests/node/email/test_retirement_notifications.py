"""Credit retirement emails: each retirement event reaches the right Admins and Managers (never ViewOnly users), once,
in their own language, with the amounts written the way that language writes numbers and the receiving country named
in it; every template renders in every language and variant; nothing is queued by a change that rolls back.

The world (a Government, a developer holding the credits, a partner; users of every role and language) is the
transfer emails' one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

from node.config import Settings
from node.credits import notifications
from node.i18n import LANGUAGES, country_name
from tests.node.email import test_transfer_notifications as transfers
from tests.node.email.test_transfer_notifications import NNBSP, WHEN, World, _addresses, _outbox

world = transfers.world  # the shared fixtures, under the names the tests ask for
settings = transfers.settings

LINK = "http://testserver/retirements/13"
NEW = ("retirement_requested", "credits_retired", "retirement_recognised", "retirement_not_recognised",
       "retirement_cancelled")  # fmt: skip
GOVERNMENT = ("root", "gov-admin", "gov-manager")  # Root is asked with the Government's Admins and Managers


def _retirement(world: World, **overrides: Any) -> dict[str, Any]:
    """The keyword arguments every function takes: the developer's request to retire 1,234,567 credits of programme 7
    across the border to Kenya, 12,346 of them into the OMGE account."""
    facts = {"retirement_id": 13, "programme_id": 7, "programme_title": "Solar\nFarm", "amount": 1234567,
             "holder_id": world.developer, "initiator_id": world.developer, "retirement_type": "cross_border",
             "country": "KE", "beneficiary": "Nairobi\nCarbon Ltd", "omge_amount": 12346, "link": LINK}  # fmt: skip
    return facts | overrides


def _by_government(world: World, retirement_type: str) -> dict[str, Any]:
    """A retirement the Government makes of the developer's credits."""
    overrides: dict[str, Any] = {"initiator_id": world.government, "retirement_type": retirement_type}
    if retirement_type != "cross_border":
        overrides |= {"country": None, "beneficiary": None, "omge_amount": 0}
    return _retirement(world, **overrides)


# ------------------------------------------------------------------------------------------------ recipients


def test_a_request_goes_to_the_governments_admins_and_managers_and_root(
    engine: Engine, settings: Settings, world: World
) -> None:
    with engine.begin() as conn:
        sent = notifications.retirement_requested(conn, settings, **_retirement(world))
    emails = _outbox(engine)
    assert sent == 3
    assert emails.keys() == _addresses(*GOVERNMENT)  # not the developer, who asked, nor any ViewOnly user
    english = emails["gov-admin@example.org"]
    assert (english["template"], english["language"]) == ("retirement_requested", "en")
    assert english["subject"] == "Credit retirement request for programme 007: Solar Farm"  # a line break stays out
    body = english["body"]
    assert (
        'Green Power Ltd asks the Government to recognise the retirement of its credits of the programme "Solar Farm" '
        "(007), for a cross-border transfer to Nairobi Carbon Ltd (Kenya)." in body
    )
    for part in ("Retirement: #13\n", "Holder: Green Power Ltd\n", "Type: cross-border transfer\n",
                 "Credits: 1,234,567\n", "To the international account: 1,222,221\n",
                 "To the OMGE account: 12,346\n", "Country: Kenya\n", "Beneficiary: Nairobi Carbon Ltd\n",
                 "Requested by: Green Power Ltd\n", LINK):  # fmt: skip
        assert part in body
    assert emails["root@example.org"]["body"].replace("Root", "Gov-Admin") == body
    french = emails["gov-manager@example.org"]
    assert (french["language"], french["subject"]) == (
        "fr", "Demande de retrait de crédits pour le programme 007 : Solar Farm"
    )  # fmt: skip
    for part in (f"Crédits : 1{NNBSP}234{NNBSP}567\n", f"Vers le compte international : 1{NNBSP}222{NNBSP}221\n",
                 f"Vers le compte OMGE : 12{NNBSP}346\n", "Pays : Kenya\n", "Type : transfert transfrontalier\n",
                 "au titre d'un transfert transfrontalier à destination de Nairobi Carbon Ltd (Kenya)"):  # fmt: skip
        assert part in french["body"]
    assert "link" not in french["context"]  # the outbox never keeps links


@pytest.mark.parametrize(
    ("retirement_type", "english", "spanish"),
    [
        ("cross_border",
         ("Type: cross-border transfer\n", "for a cross-border transfer to Nairobi Carbon Ltd (Kenya),"),
         ("Tipo: transferencia transfronteriza\n",
          "para una transferencia transfronteriza a Nairobi Carbon Ltd (Kenia),")),
        ("legal_action", ("Type: legal action\n", "because of legal action,"),
         ("Tipo: acción legal\n", "a raíz de una acción legal,")),
        ("other", ("Type: other\n", "for another reason,"), ("Tipo: otro\n", "por otro motivo,")),
    ],
)  # fmt: skip
def test_credits_retired_by_the_government_tell_the_holder_why(
    engine: Engine, settings: Settings, world: World, retirement_type: str, english: tuple[str, str],
    spanish: tuple[str, str],
) -> None:  # fmt: skip
    with engine.begin() as conn:
        sent = notifications.credits_retired(conn, settings, **_by_government(world, retirement_type))
    emails = _outbox(engine)
    assert sent == 2
    assert emails.keys() == _addresses("dev-admin", "dev-manager")
    body = emails["dev-admin@example.org"]["body"]
    assert (
        emails["dev-admin@example.org"]["subject"] == "Credits retired by the Government for programme 007: Solar Farm"
    )
    assert (
        'The Government, Ministry of Environment, retired credits of the programme "Solar Farm" (007) held by your '
        f"organisation, Green Power Ltd, {english[1]} in the National Carbon Registry on " in body
    )
    assert english[0] in body
    assert "Credits: 1,234,567\n" in body
    assert "Retired by: Ministry of Environment\n" in body
    spanish_email = emails["dev-manager@example.org"]
    assert (spanish_email["language"], spanish_email["subject"]) == (
        "es", "Créditos retirados por el Gobierno para el programa 007: Solar Farm"
    )  # fmt: skip
    assert spanish[0] in spanish_email["body"]
    assert spanish[1] in spanish_email["body"]
    assert "Créditos: 1.234.567\n" in spanish_email["body"]
    cross_border = retirement_type == "cross_border"
    for part in ("A la cuenta internacional: 1.222.221\n", "A la cuenta OMGE: 12.346\n", "País: Kenia\n",
                 "Beneficiario: Nairobi Carbon Ltd\n"):  # fmt: skip
        assert (part in spanish_email["body"]) == cross_border
    for part in ("OMGE", "Country", "Beneficiary"):
        assert (part in body) == cross_border


def test_a_recognised_request_tells_the_holder_that_asked_once(
    engine: Engine, settings: Settings, world: World
) -> None:
    with engine.begin() as conn:
        sent = notifications.retirement_recognised(conn, settings, **_retirement(world))
    emails = _outbox(engine)
    assert sent == 2  # the initiator is the holder: one email each, not two
    assert emails.keys() == _addresses("dev-admin", "dev-manager")
    english = emails["dev-admin@example.org"]
    assert english["subject"] == "Credit retirement recognised for programme 007: Solar Farm"
    assert (
        "The Government recognised the request of your organisation, Green Power Ltd, to retire its credits of the "
        'programme "Solar Farm" (007), for a cross-border transfer to Nairobi Carbon Ltd (Kenya), in the National '
        "Carbon Registry on " in english["body"]
    )
    assert "The credits were retired; your organisation no longer holds them." in english["body"]
    spanish = emails["dev-manager@example.org"]
    assert spanish["subject"] == "Retiro de créditos reconocido para el programa 007: Solar Farm"
    assert "El Gobierno reconoció el retiro solicitado por su organización, Green Power Ltd, de sus" in spanish["body"]
    assert "A la cuenta internacional: 1.222.221\nA la cuenta OMGE: 12.346\nPaís: Kenia\n" in spanish["body"]


def test_a_recognised_request_from_another_organisation_tells_both(
    engine: Engine, settings: Settings, world: World
) -> None:
    with engine.begin() as conn:
        sent = notifications.retirement_recognised(conn, settings, **_retirement(world, initiator_id=world.partner))
    emails = _outbox(engine)
    assert sent == 4
    assert emails.keys() == _addresses("dev-admin", "dev-manager", "partner-admin", "partner-manager")
    assert (
        "The Government recognised the request from Sun Partners to retire credits of the programme "
        '"Solar Farm" (007) held by your organisation, Green Power Ltd,' in emails["dev-admin@example.org"]["body"]
    )
    assert (
        "The Government recognised the request of your organisation, Sun Partners, to retire credits of the "
        'programme "Solar Farm" (007) held by Green Power Ltd,' in emails["partner-manager@example.org"]["body"]
    )
    french = emails["partner-admin@example.org"]
    assert french["subject"] == "Retrait de crédits reconnu pour le programme 007 : Solar Farm"
    assert (
        "Le Gouvernement a reconnu le retrait demandé par votre organisation, Sun Partners, de crédits du programme "
        "« Solar Farm » (007) détenus par Green Power Ltd," in french["body"]
    )


def test_a_request_not_recognised_tells_the_initiator_with_the_remarks(
    engine: Engine, settings: Settings, world: World
) -> None:
    with engine.begin() as conn:
        sent = notifications.retirement_not_recognised(conn, settings, remarks="  Not\nnow  ", **_retirement(world))
    emails = _outbox(engine)
    assert sent == 2
    assert emails.keys() == _addresses("dev-admin", "dev-manager")  # not the Government, who decided
    english = emails["dev-admin@example.org"]
    assert english["subject"] == "Credit retirement not recognised for programme 007: Solar Farm"
    assert "The Government did not recognise the request of your organisation, Green Power Ltd," in english["body"]
    assert "No credits were retired.\nRemarks: Not\nnow\n\nRetirement: #13" in english["body"]
    spanish = emails["dev-manager@example.org"]
    assert spanish["subject"] == "Retiro de créditos no reconocido para el programa 007: Solar Farm"
    assert "Observaciones: Not\nnow\n" in spanish["body"]


def test_a_request_of_another_organisation_not_recognised_tells_both_without_remarks(
    engine: Engine, settings: Settings, world: World
) -> None:
    with engine.begin() as conn:
        sent = notifications.retirement_not_recognised(conn, settings, remarks="   ",
                                                       **_retirement(world, initiator_id=world.partner))  # fmt: skip
    emails = _outbox(engine)
    assert sent == 4
    assert emails.keys() == _addresses("dev-admin", "dev-manager", "partner-admin", "partner-manager")
    holder = emails["dev-admin@example.org"]["body"]
    assert "The Government did not recognise the request from Sun Partners to retire credits" in holder
    assert "No credits were retired; your organisation still holds them." in holder
    initiator = emails["partner-manager@example.org"]["body"]
    assert "the request of your organisation, Sun Partners, to retire credits" in initiator
    assert "held by Green Power Ltd," in initiator
    for email in emails.values():
        assert "Remarks" not in email["body"]
        assert "Remarques" not in email["body"]
        assert "\n\n\n" not in email["body"]


def test_a_cancellation_by_the_asker_tells_the_government_only(
    engine: Engine, settings: Settings, world: World
) -> None:
    with engine.begin() as conn:
        sent = notifications.retirement_cancelled(conn, settings, by_system=False, reason=None, **_retirement(world))
    emails = _outbox(engine)
    assert sent == 3
    assert emails.keys() == _addresses(*GOVERNMENT)
    english = emails["gov-admin@example.org"]
    assert english["subject"] == "Credit retirement request cancelled for programme 007: Solar Farm"
    assert (
        'Green Power Ltd cancelled its request to retire credits of the programme "Solar Farm" (007), for a '
        "cross-border transfer to Nairobi Carbon Ltd (Kenya), in the National Carbon Registry on " in english["body"]
    )
    assert "There is nothing left to recognise." in english["body"]
    assert "Reason" not in english["body"]
    french = emails["gov-manager@example.org"]
    assert french["subject"] == "Demande de retrait de crédits annulée pour le programme 007 : Solar Farm"
    assert "Green Power Ltd a annulé sa demande de retrait de crédits du programme" in french["body"]
    assert "Il n'y a plus rien à reconnaître." in french["body"]


def test_a_cancellation_by_the_registry_also_tells_the_initiator_why(
    engine: Engine, settings: Settings, world: World
) -> None:
    reason = "The Government changed the OMGE rate from 1% to 2%."
    with engine.begin() as conn:
        sent = notifications.retirement_cancelled(conn, settings, by_system=True, reason=reason,
                                                  **_retirement(world))  # fmt: skip
    emails = _outbox(engine)
    assert sent == 5
    assert emails.keys() == _addresses(*GOVERNMENT, "dev-admin", "dev-manager")
    government = emails["gov-admin@example.org"]["body"]
    assert (
        "the National Carbon Registry cancelled the request from Green Power Ltd to retire its credits of the "
        'programme "Solar Farm" (007), for a cross-border transfer' in government
    )
    assert "There is nothing left to recognise.\nReason: " + reason + "\n" in government
    initiator = emails["dev-admin@example.org"]["body"]
    assert "the National Carbon Registry cancelled the request of your organisation, Green Power Ltd, to retire" in (
        initiator
    )
    assert "No credits were retired.\nReason: " + reason + "\n" in initiator
    spanish = emails["dev-manager@example.org"]
    assert spanish["subject"] == "Solicitud de retiro de créditos cancelada para el programa 007: Solar Farm"
    assert "canceló la solicitud de su organización, Green Power Ltd, de retiro de sus créditos" in spanish["body"]
    assert f"Motivo: {reason}\n" in spanish["body"]
    assert "País: Kenia\n" in spanish["body"]


def test_someone_reached_twice_gets_one_email(engine: Engine, settings: Settings, world: World) -> None:
    """The Government's Admins and Managers as the Government and as the initiator (should a Government request
    ever be pending): one email each, in the Government's wording."""
    with engine.begin() as conn:
        sent = notifications.retirement_cancelled(conn, settings, by_system=True, reason=None,
                                                  **_retirement(world, initiator_id=world.government))  # fmt: skip
    assert sent == 3
    emails = _outbox(engine)  # _outbox fails on a second email to one address
    assert emails.keys() == _addresses(*GOVERNMENT)
    assert "There is nothing left to recognise." in emails["gov-admin@example.org"]["body"]


def test_an_unknown_retirement_type_is_a_bug(engine: Engine, settings: Settings, world: World) -> None:
    with engine.begin() as conn, pytest.raises(ValueError, match="retirement type"):
        notifications.credits_retired(conn, settings, **_retirement(world, retirement_type="cross-border"))


def test_no_email_survives_a_rolled_back_change(engine: Engine, settings: Settings, world: World) -> None:
    with engine.connect() as conn:
        transaction = conn.begin()
        assert notifications.retirement_requested(conn, settings, **_retirement(world)) == 3
        assert notifications.credits_retired(conn, settings, **_by_government(world, "other")) == 2
        transaction.rollback()
    assert _outbox(engine) == {}


@pytest.mark.parametrize(
    ("code", "language", "name"),
    [("KE", "en", "Kenya"), ("KE", "es", "Kenia"), ("KE", "fr", "Kenya"), ("DE", "fr", "Allemagne"),
     ("DE", "es", "Alemania"), ("US", "fr", "États-Unis"), ("KR", "en", "South Korea"), ("KR", "es", "Corea del Sur"),
     ("ke", "es", "Kenia"), ("DE", "de", "Germany"), ("XX", "fr", "XX")],
)  # fmt: skip
def test_countries_are_named_in_the_recipients_language(code: str, language: str, name: str) -> None:
    assert country_name(code, language) == name


def test_an_unknown_country_code_is_shown_as_given(engine: Engine, settings: Settings, world: World) -> None:
    with engine.begin() as conn:
        notifications.retirement_requested(conn, settings, **_retirement(world, country="ZZ"))
    assert "Country: ZZ\n" in _outbox(engine)["gov-admin@example.org"]["body"]


# ------------------------------------------------------------------------------------------------ rendering


def _variant(
    function: Callable[..., int], template: str, facts: Callable[[World], dict[str, Any]], **values: Any
) -> tuple[str, Callable[[Connection, Settings, World], int]]:
    return template, lambda conn, settings, world: function(conn, settings, **facts(world), **values)


N = notifications
VARIANTS: dict[str, tuple[str, Callable[[Connection, Settings, World], int]]] = {
    "requested": _variant(N.retirement_requested, "retirement_requested", _retirement),
    "requested-without-destination": _variant(N.retirement_requested, "retirement_requested",
                                              lambda world: _retirement(world, country=None, beneficiary=" ")),
    "requested-for-another": _variant(N.retirement_requested, "retirement_requested",
                                      lambda world: _retirement(world, initiator_id=world.partner)),
    "retired-cross-border": _variant(N.credits_retired, "credits_retired",
                                     lambda world: _by_government(world, "cross_border")),
    "retired-legal-action": _variant(N.credits_retired, "credits_retired",
                                     lambda world: _by_government(world, "legal_action")),
    "retired-other": _variant(N.credits_retired, "credits_retired", lambda world: _by_government(world, "other")),
    "recognised": _variant(N.retirement_recognised, "retirement_recognised", _retirement),
    "recognised-for-another": _variant(N.retirement_recognised, "retirement_recognised",
                                       lambda world: _retirement(world, initiator_id=world.partner)),
    "not-recognised-with-remarks": _variant(N.retirement_not_recognised, "retirement_not_recognised", _retirement,
                                            remarks="R"),
    "not-recognised-for-another": _variant(N.retirement_not_recognised, "retirement_not_recognised",
                                           lambda world: _retirement(world, initiator_id=world.partner), remarks=None),
    "cancelled-by-asker": _variant(N.retirement_cancelled, "retirement_cancelled", _retirement, by_system=False,
                                   reason=None),
    "cancelled-by-system": _variant(N.retirement_cancelled, "retirement_cancelled", _retirement, by_system=True,
                                    reason="R"),
    "cancelled-by-system-for-another": _variant(N.retirement_cancelled, "retirement_cancelled",
                                                lambda world: _retirement(world, initiator_id=world.partner),
                                                by_system=True, reason=None),
}  # fmt: skip
TWO_WORDINGS = ("recognised-for-another", "not-recognised-for-another", "cancelled-by-system",
                "cancelled-by-system-for-another")  # fmt: skip


def test_every_new_template_has_a_variant_here() -> None:
    assert {template for template, _ in VARIANTS.values()} == set(NEW)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_every_retirement_template_renders_in_every_language(
    engine: Engine, settings: Settings, world: World, variant: str, language: str
) -> None:
    template, send = VARIANTS[variant]
    with engine.begin() as conn:
        conn.execute(text("update app.user_account set language = :language"), {"language": language})
        assert send(conn, settings, world) > 0
    emails = _outbox(engine)
    subjects = set()
    bodies = set()
    for email in emails.values():
        assert (email["template"], email["language"]) == (template, language)
        assert email["subject"]
        for leftover in ("{{", "}}", "{%", "%}", "None"):
            assert leftover not in email["subject"] + email["body"]
        assert LINK in email["body"]
        assert "#13" in email["body"]
        assert "\n\n\n" not in email["body"]
        assert " ," not in email["body"]
        subjects.add(email["subject"])
        name = email["recipient"].split("@")[0].title()
        bodies.add(WHEN.sub("WHEN", email["body"].replace(name, "NAME")))  # a minute may pass between two emails
    assert len(subjects) == 1
    assert len(bodies) == (2 if variant in TWO_WORDINGS else 1)


def test_languages_get_their_own_words() -> None:
    """No template is an untranslated copy of the English one."""
    root = Path(notifications.__file__).parents[1] / "email" / "templates"
    for template in NEW:
        texts = {language: (root / language / f"{template}.txt").read_text() for language in LANGUAGES}
        assert len(set(texts.values())) == len(LANGUAGES), template

"""Credit transfer emails: each transfer event reaches the right Admins and Managers (never ViewOnly users), once, in
their own language, with the amount written the way that language writes numbers; every template renders in every
language and variant; nothing is queued by a change that rolls back."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, insert, select, text

from node.config import Settings
from node.credits import notifications
from node.i18n import LANGUAGES
from node.models.app import email_outbox, organisation, user_account
from tests.api.conftest import empty_app, make_settings

NNBSP = "\u202f"
LINK = "http://testserver/transfers/42"
WHEN = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC")
NEW = ("transfer_requested", "credits_sent", "transfer_approved", "transfer_rejected", "transfer_cancelled")


@dataclass
class World:
    """A Government, a sender and a receiver, with users of every role, ids as the tests need them."""

    government: int = 1
    developer: int = 2
    partner: int = 3


@pytest.fixture
def world(engine: Engine) -> World:
    empty_app(engine)
    world = World()
    with engine.begin() as conn:
        for organisation_id, name, role in ((world.government, "Ministry of Environment", "Government"),
                                            (world.developer, "Green Power Ltd", "ProgrammeDeveloper"),
                                            (world.partner, "Sun\nPartners", "ProgrammeDeveloper")):  # fmt: skip
            conn.execute(insert(organisation).values(organisation_id=organisation_id, name=name, role=role,
                                                     country="NG"))  # fmt: skip
        _user(conn, world.government, "Root", "root")
        _user(conn, world.government, "Admin", "gov-admin")
        _user(conn, world.government, "Manager", "gov-manager", "fr")
        _user(conn, world.government, "ViewOnly", "gov-viewer")
        _user(conn, world.developer, "Admin", "dev-admin")
        _user(conn, world.developer, "Manager", "dev-manager", "es")
        _user(conn, world.developer, "ViewOnly", "dev-viewer")
        _user(conn, world.partner, "Admin", "partner-admin", "fr")
        _user(conn, world.partner, "Manager", "partner-manager")
        _user(conn, world.partner, "ViewOnly", "partner-viewer", "fr")
    return world


def _user(conn: Connection, organisation_id: int, role: str, who: str, language: str = "en") -> None:
    conn.execute(insert(user_account).values(email=f"{who}@example.org", name=who.title(), role=role,
                                             organisation_id=organisation_id, language=language))  # fmt: skip


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data", registry_name="National Carbon Registry")


def _outbox(engine: Engine) -> dict[str, dict[str, Any]]:
    """The queued emails by recipient (a second email to the same address would fail the test)."""
    with engine.connect() as conn:
        rows = conn.execute(select(email_outbox).order_by(email_outbox.c.email_id)).mappings().all()
    by_recipient: dict[str, dict[str, Any]] = {}
    for row in rows:
        assert row["recipient"] not in by_recipient, f"{row['recipient']} was emailed twice"
        by_recipient[row["recipient"]] = dict(row)
    return by_recipient


def _addresses(*who: str) -> set[str]:
    return {f"{name}@example.org" for name in who}


def _transfer(world: World, **overrides: Any) -> dict[str, Any]:
    """The keyword arguments every function takes: 1,234,567 credits of programme 7 from developer to partner."""
    return {"transfer_id": 42, "programme_id": 7, "programme_title": "Solar\nFarm", "amount": 1234567,
            "from_id": world.developer, "to_id": world.partner, "link": LINK} | overrides  # fmt: skip


# ------------------------------------------------------------------------------------------------ recipients


def test_a_request_for_credits_goes_to_the_senders_admins_and_managers(
    engine: Engine, settings: Settings, world: World
) -> None:
    with engine.begin() as conn:
        sent = notifications.transfer_requested(conn, settings, **_transfer(world, initiator_id=world.partner))
    emails = _outbox(engine)
    assert sent == 2
    assert emails.keys() == _addresses("dev-admin", "dev-manager")
    english = emails["dev-admin@example.org"]
    assert (english["template"], english["language"]) == ("transfer_requested", "en")
    assert english["subject"] == "Credit transfer request for programme 007: Solar Farm"  # a line break stays out
    body = english["body"]
    assert (
        'Sun Partners asks your organisation, Green Power Ltd, for credits of the programme "Solar Farm" (007).' in body
    )
    for part in ("Transfer: #42\n", "From: Green Power Ltd\n", "To: Sun Partners\n", "Credits: 1,234,567\n",
                 "Requested by: Sun Partners\n", LINK):  # fmt: skip
        assert part in body
    spanish = emails["dev-manager@example.org"]
    assert spanish["subject"] == "Solicitud de transferencia de créditos para el programa 007: Solar Farm"
    assert "Créditos: 1.234.567\n" in spanish["body"]
    assert "Sun Partners solicita a su organización, Green Power Ltd, que le transfiera" in spanish["body"]
    assert "link" not in spanish["context"]  # the outbox never keeps links


def test_a_government_request_for_a_third_party_says_who_asked(
    engine: Engine, settings: Settings, world: World
) -> None:
    with engine.begin() as conn:
        sent = notifications.transfer_requested(conn, settings, **_transfer(world, initiator_id=world.government))
    emails = _outbox(engine)
    assert sent == 2
    assert emails.keys() == _addresses("dev-admin", "dev-manager")  # not the Government, who asked
    assert (
        "Ministry of Environment asks your organisation, Green Power Ltd, to transfer credits of the programme "
        '"Solar Farm" (007) to Sun Partners.' in emails["dev-admin@example.org"]["body"]
    )
    assert "Ministry of Environment solicita a su organización" in emails["dev-manager@example.org"]["body"]


def test_credits_sent_at_once_go_to_the_receivers_admins_and_managers(
    engine: Engine, settings: Settings, world: World
) -> None:
    with engine.begin() as conn:
        sent = notifications.credits_sent(conn, settings, **_transfer(world))
    emails = _outbox(engine)
    assert sent == 2
    assert emails.keys() == _addresses("partner-admin", "partner-manager")
    french = emails["partner-admin@example.org"]
    assert (french["template"], french["language"]) == ("credits_sent", "fr")
    assert french["subject"] == "Crédits reçus pour le programme 007 : Solar Farm"
    assert f"Crédits : 1{NNBSP}234{NNBSP}567\n" in french["body"]
    assert "Green Power Ltd a transféré des crédits" in french["body"]
    english = emails["partner-manager@example.org"]
    assert english["subject"] == "Credits received for programme 007: Solar Farm"
    assert "Green Power Ltd sent credits of the programme" in english["body"]


def test_an_approved_request_for_itself_tells_the_receiver_once(
    engine: Engine, settings: Settings, world: World
) -> None:
    with engine.begin() as conn:
        sent = notifications.transfer_approved(conn, settings, **_transfer(world, initiator_id=world.partner))
    emails = _outbox(engine)
    assert sent == 2  # the initiator is the receiver: one email each, not two
    assert emails.keys() == _addresses("partner-admin", "partner-manager")
    english = emails["partner-manager@example.org"]
    assert english["subject"] == "Credit transfer approved for programme 007: Solar Farm"
    assert "Green Power Ltd approved the request of your organisation" in english["body"]
    assert "were transferred to your organisation, Sun Partners." in english["body"]
    assert emails["partner-admin@example.org"]["subject"] == (
        "Transfert de crédits approuvé pour le programme 007 : Solar Farm"
    )


def test_an_approved_government_request_tells_the_initiator_and_the_receiver(
    engine: Engine, settings: Settings, world: World
) -> None:
    with engine.begin() as conn:
        sent = notifications.transfer_approved(conn, settings, **_transfer(world, initiator_id=world.government))
    emails = _outbox(engine)
    assert sent == 4
    assert emails.keys() == _addresses("gov-admin", "gov-manager", "partner-admin", "partner-manager")  # not Root
    assert (
        "Green Power Ltd approved the request of your organisation, Ministry of Environment, to transfer credits"
        in emails["gov-admin@example.org"]["body"]
    )
    assert "la demande de votre organisation, Ministry of Environment," in emails["gov-manager@example.org"]["body"]
    assert (
        'Green Power Ltd transferred credits of the programme "Solar Farm" (007) to your organisation, Sun Partners'
        in emails["partner-manager@example.org"]["body"]
    )
    assert "approving a request from Ministry of Environment." in emails["partner-manager@example.org"]["body"]


def test_a_rejection_tells_the_initiator_with_the_remarks(engine: Engine, settings: Settings, world: World) -> None:
    with engine.begin() as conn:
        sent = notifications.transfer_rejected(conn, settings, remarks="  Not\nnow  ",
                                               **_transfer(world, initiator_id=world.partner))  # fmt: skip
    emails = _outbox(engine)
    assert sent == 2
    assert emails.keys() == _addresses("partner-admin", "partner-manager")  # not the sender, who decided
    english = emails["partner-manager@example.org"]
    assert english["subject"] == "Credit transfer request rejected for programme 007: Solar Farm"
    assert "Green Power Ltd rejected the request of your organisation, Sun Partners, for credits" in english["body"]
    assert "No credits were transferred.\nRemarks: Not\nnow\n\nTransfer: #42" in english["body"]
    french = emails["partner-admin@example.org"]
    assert french["subject"] == "Demande de transfert de crédits rejetée pour le programme 007 : Solar Farm"
    assert "Remarques : Not" in french["body"]


def test_a_rejection_without_remarks_has_no_remarks_line(engine: Engine, settings: Settings, world: World) -> None:
    with engine.begin() as conn:
        notifications.transfer_rejected(
            conn, settings, remarks="   ", **_transfer(world, initiator_id=world.government)
        )
    emails = _outbox(engine)
    assert emails.keys() == _addresses("gov-admin", "gov-manager")
    body = emails["gov-admin@example.org"]["body"]
    assert "Remarks" not in body
    assert 'to transfer credits of the programme "Solar Farm" (007) to Sun Partners' in body
    assert "\n\n\n" not in body


def test_a_cancellation_by_the_asker_tells_the_sender_only(engine: Engine, settings: Settings, world: World) -> None:
    with engine.begin() as conn:
        sent = notifications.transfer_cancelled(conn, settings, by_system=False, reason=None,
                                                **_transfer(world, initiator_id=world.partner))  # fmt: skip
    emails = _outbox(engine)
    assert sent == 2
    assert emails.keys() == _addresses("dev-admin", "dev-manager")
    english = emails["dev-admin@example.org"]["body"]
    assert "The request from Sun Partners to transfer credits" in english
    assert "There is nothing left to approve." in english
    assert "Reason" not in english
    assert emails["dev-manager@example.org"]["subject"] == (
        "Solicitud de transferencia de créditos cancelada para el programa 007: Solar Farm"
    )


def test_a_cancellation_by_the_registry_also_tells_the_initiator(
    engine: Engine, settings: Settings, world: World
) -> None:
    reason = "Cancelled by the registry: the sender now holds 10 credits."
    with engine.begin() as conn:
        sent = notifications.transfer_cancelled(conn, settings, by_system=True, reason=reason,
                                                **_transfer(world, initiator_id=world.government))  # fmt: skip
    emails = _outbox(engine)
    assert sent == 4
    assert emails.keys() == _addresses("dev-admin", "dev-manager", "gov-admin", "gov-manager")
    sender = emails["dev-admin@example.org"]["body"]
    assert "the National Carbon Registry cancelled the request from Ministry of Environment" in sender
    assert "your organisation no longer holds enough credits" in sender
    assert f"Reason: {reason}\n" in sender
    initiator = emails["gov-admin@example.org"]["body"]
    assert "cancelled the request of your organisation, Ministry of Environment," in initiator
    assert "Green Power Ltd no longer holds enough credits" in initiator
    french = emails["gov-manager@example.org"]
    assert french["subject"] == "Demande de transfert de crédits annulée pour le programme 007 : Solar Farm"
    assert "Green Power Ltd ne détient plus assez de crédits" in french["body"]


def test_someone_reached_twice_gets_one_email(engine: Engine, settings: Settings, world: World) -> None:
    with engine.begin() as conn:
        sent = notifications.transfer_cancelled(conn, settings, by_system=True, reason=None,
                                                **_transfer(world, initiator_id=world.developer))  # fmt: skip
    assert sent == 2
    emails = _outbox(engine)  # _outbox fails on a second email to one address
    assert emails.keys() == _addresses("dev-admin", "dev-manager")
    assert "your organisation no longer holds enough credits" in emails["dev-admin@example.org"]["body"]  # the sender's


def test_no_email_survives_a_rolled_back_change(engine: Engine, settings: Settings, world: World) -> None:
    with engine.connect() as conn:
        transaction = conn.begin()
        assert notifications.transfer_requested(conn, settings, **_transfer(world, initiator_id=world.partner)) == 2
        assert notifications.credits_sent(conn, settings, **_transfer(world)) == 2
        transaction.rollback()
    assert _outbox(engine) == {}


# ------------------------------------------------------------------------------------------------ rendering


VARIANTS: dict[str, tuple[str, Callable[[Connection, Settings, World], int]]] = {
    "requested-by-receiver": ("transfer_requested", lambda conn, settings, world: notifications.transfer_requested(
        conn, settings, **_transfer(world, initiator_id=world.partner))),
    "requested-by-government": ("transfer_requested", lambda conn, settings, world: notifications.transfer_requested(
        conn, settings, **_transfer(world, initiator_id=world.government))),
    "sent": ("credits_sent", lambda conn, settings, world: notifications.credits_sent(
        conn, settings, **_transfer(world))),
    "approved-for-itself": ("transfer_approved", lambda conn, settings, world: notifications.transfer_approved(
        conn, settings, **_transfer(world, initiator_id=world.partner))),
    "approved-for-a-third-party": ("transfer_approved", lambda conn, settings, world: notifications.transfer_approved(
        conn, settings, **_transfer(world, initiator_id=world.government))),
    "rejected-with-remarks": ("transfer_rejected", lambda conn, settings, world: notifications.transfer_rejected(
        conn, settings, remarks="R", **_transfer(world, initiator_id=world.partner))),
    "rejected-third-party": ("transfer_rejected", lambda conn, settings, world: notifications.transfer_rejected(
        conn, settings, remarks=None, **_transfer(world, initiator_id=world.government))),
    "cancelled-by-user": ("transfer_cancelled", lambda conn, settings, world: notifications.transfer_cancelled(
        conn, settings, by_system=False, reason="R", **_transfer(world, initiator_id=world.partner))),
    "cancelled-by-system": ("transfer_cancelled", lambda conn, settings, world: notifications.transfer_cancelled(
        conn, settings, by_system=True, reason=None, **_transfer(world, initiator_id=world.government))),
}  # fmt: skip


def test_every_new_template_has_a_variant_here() -> None:
    assert {template for template, _ in VARIANTS.values()} == set(NEW)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_every_transfer_template_renders_in_every_language(
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
        for leftover in ("{{", "}}", "{%", "%}"):
            assert leftover not in email["subject"] + email["body"]
        assert LINK in email["body"]
        assert "#42" in email["body"]
        assert "\n\n\n" not in email["body"]
        subjects.add(email["subject"])
        name = email["recipient"].split("@")[0].title()
        bodies.add(WHEN.sub("WHEN", email["body"].replace(name, "NAME")))  # a minute may pass between two emails
    assert len(subjects) == 1
    assert len(bodies) == (2 if variant in ("approved-for-a-third-party", "cancelled-by-system") else 1)


def test_languages_get_their_own_words() -> None:
    """No template is an untranslated copy of the English one."""
    root = Path(notifications.__file__).parents[1] / "email" / "templates"
    for template in NEW:
        texts = {language: (root / language / f"{template}.txt").read_text() for language in LANGUAGES}
        assert len(set(texts.values())) == len(LANGUAGES), template

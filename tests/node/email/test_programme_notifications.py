"""Programme emails: each event reaches the right Admins and Managers (never ViewOnly users), once, in their own
language, with numbers written the way that language writes them; and every template renders in every language."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, insert, select, text

from node.config import Settings
from node.i18n import LANGUAGES
from node.models.app import email_outbox, organisation, user_account
from node.programmes import notifications
from node.programmes.notifications import format_number
from tests.api.conftest import empty_app, make_settings

NNBSP = "\u202f"
LINK = "http://testserver/programmes/7"
_emails = itertools.count(1)


@dataclass
class World:
    """Four organisations with users of every role, ids as the tests need them."""

    government: int = 1
    developer: int = 2
    partner: int = 3
    certifier: int = 4


@pytest.fixture
def world(engine: Engine) -> World:
    empty_app(engine)
    world = World()
    with engine.begin() as conn:
        for organisation_id, name, role in ((world.government, "Ministry of Environment", "Government"),
                                            (world.developer, "Green Power Ltd", "ProgrammeDeveloper"),
                                            (world.partner, "Sun Partners", "ProgrammeDeveloper"),
                                            (world.certifier, "Verify SA", "Certifier")):  # fmt: skip
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
        _user(conn, world.certifier, "Admin", "cert-admin")
        _user(conn, world.certifier, "Manager", "cert-manager", "fr")
        _user(conn, world.certifier, "ViewOnly", "cert-viewer")
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


# ------------------------------------------------------------------------------------------------ recipients


def test_a_new_programme_goes_to_the_government_admins_managers_and_root(
    engine: Engine, settings: Settings, world: World
) -> None:
    with engine.begin() as conn:
        sent = notifications.programme_created(conn, settings, programme_id=7, title="Solar\nFarm", external_id="EXT-9",
                                               owner_ids=[world.developer, world.partner], credit_estimate=1234567,
                                               link=LINK)  # fmt: skip
    emails = _outbox(engine)
    assert sent == 3
    assert emails.keys() == _addresses("root", "gov-admin", "gov-manager")
    english = emails["gov-admin@example.org"]
    assert (english["template"], english["language"]) == ("programme_created", "en")
    assert english["subject"] == "New programme 007 awaiting authorisation: Solar Farm"  # a line break stays out
    for part in ("EXT-9", "Green Power Ltd, Sun Partners", "1,234,567", LINK):
        assert part in english["body"]
    french = emails["gov-manager@example.org"]
    assert french["subject"] == "Nouveau programme 007 en attente d'autorisation : Solar Farm"
    assert f"1{NNBSP}234{NNBSP}567" in french["body"]
    assert "link" not in french["context"]  # the outbox never keeps links


def test_authorisation_goes_to_every_owners_admins_and_managers_only(
    engine: Engine, settings: Settings, world: World
) -> None:
    with engine.begin() as conn:
        sent = notifications.programme_authorised(
            conn, settings, programme_id=12, title="Wind", owner_ids=[world.developer, world.partner],
            serial_number="NG-ITMO-12-2026-1-2500", issued=2500, link=LINK,
            authorised_at=datetime(2026, 3, 4, 23, 30, tzinfo=UTC),
        )  # fmt: skip
    emails = _outbox(engine)
    assert sent == 3
    assert emails.keys() == _addresses("dev-admin", "dev-manager", "partner-admin")
    english = emails["dev-admin@example.org"]
    assert english["subject"] == "Programme 012 authorised: Wind"
    for part in ("NG-ITMO-12-2026-1-2500", "2,500", "2026-03-04"):
        assert part in english["body"]
    assert emails["dev-manager@example.org"]["subject"] == "Programa 012 autorizado: Wind"
    assert "Créditos emitidos con la autorización: 2500" in emails["dev-manager@example.org"]["body"]  # es: 4 digits
    assert emails["partner-admin@example.org"]["subject"] == "Programme 012 autorisé : Wind"


def test_a_rejection_tells_the_owners_why(engine: Engine, settings: Settings, world: World) -> None:
    with engine.begin() as conn:
        sent = notifications.programme_rejected(conn, settings, programme_id=3, title="Hydro",
                                                owner_ids=[world.developer], reason="Incomplete\nbaseline",
                                                link=LINK)  # fmt: skip
    emails = _outbox(engine)
    assert sent == 2
    assert emails.keys() == _addresses("dev-admin", "dev-manager")
    assert "Reason: Incomplete\nbaseline" in emails["dev-admin@example.org"]["body"]
    assert emails["dev-manager@example.org"]["subject"] == "Programa 003 rechazado: Hydro"
    assert "Motivo: Incomplete" in emails["dev-manager@example.org"]["body"]


def test_an_issuance_lists_each_owners_share_in_the_recipients_language(
    engine: Engine, settings: Settings, world: World
) -> None:
    with engine.begin() as conn:
        sent = notifications.credits_issued(
            conn, settings, programme_id=5, title="Cookstoves", owner_ids=[world.developer, world.partner],
            amount=15000, total_issued=40000, credit_estimate=100000, link=LINK,
            shares={world.partner: 4500, world.developer: 10500},
        )  # fmt: skip
    emails = _outbox(engine)
    assert sent == 3
    english = emails["dev-admin@example.org"]["body"]
    assert "Issued now: 15,000\nIssued in total: 40,000\nCredit estimate: 100,000\n" in english
    assert "- Green Power Ltd: 10,500\n- Sun Partners: 4,500\n" in english  # in the order of the owners
    assert "- Green Power Ltd: 10.500\n- Sun Partners: 4500\n" in emails["dev-manager@example.org"]["body"]
    assert f"- Sun Partners : 4{NNBSP}500\n" in emails["partner-admin@example.org"]["body"]


def test_an_issuance_without_shares_has_no_share_section(engine: Engine, settings: Settings, world: World) -> None:
    with engine.begin() as conn:
        notifications.credits_issued(conn, settings, programme_id=5, title="Cookstoves", owner_ids=[world.developer],
                                     amount=1, total_issued=1, credit_estimate=10, link=LINK)  # fmt: skip
    body = _outbox(engine)["dev-admin@example.org"]["body"]
    assert "Shares" not in body
    assert "\n\n\n" not in body


def test_a_certification_names_the_certifier(engine: Engine, settings: Settings, world: World) -> None:
    with engine.begin() as conn:
        sent = notifications.programme_certified(conn, settings, programme_id=8, title="Biogas",
                                                 owner_ids=[world.developer], certifier_id=world.certifier,
                                                 link=LINK)  # fmt: skip
    emails = _outbox(engine)
    assert sent == 2
    assert emails.keys() == _addresses("dev-admin", "dev-manager")  # not the certifier, who did it
    assert emails["dev-admin@example.org"]["subject"] == "Programme 008 certified by Verify SA"
    assert emails["dev-manager@example.org"]["subject"] == "Programa 008 certificado por Verify SA"


def test_a_certifier_revoking_its_own_certification_tells_the_owners_only(
    engine: Engine, settings: Settings, world: World
) -> None:
    with engine.begin() as conn:
        sent = notifications.certification_revoked(conn, settings, programme_id=8, title="Biogas",
                                                   owner_ids=[world.developer], certifier_id=world.certifier,
                                                   by_government=False, link=LINK)  # fmt: skip
    emails = _outbox(engine)
    assert sent == 2
    assert emails.keys() == _addresses("dev-admin", "dev-manager")
    assert "Verify SA revoked its certification" in emails["dev-admin@example.org"]["body"]


def test_a_government_revocation_also_tells_the_certifier(engine: Engine, settings: Settings, world: World) -> None:
    with engine.begin() as conn:
        sent = notifications.certification_revoked(conn, settings, programme_id=8, title="Biogas",
                                                   owner_ids=[world.developer], certifier_id=world.certifier,
                                                   by_government=True, link=LINK)  # fmt: skip
    emails = _outbox(engine)
    assert sent == 4
    assert emails.keys() == _addresses("dev-admin", "dev-manager", "cert-admin", "cert-manager")
    assert (
        "The Government revoked Verify SA's certification of the programme" in emails["dev-admin@example.org"]["body"]
    )
    assert "your organisation, Verify SA," in emails["cert-admin@example.org"]["body"]
    french = emails["cert-manager@example.org"]
    assert french["subject"] == "Certification du programme 008 révoquée : Biogas"
    assert "délivrée par votre organisation, Verify SA," in french["body"]


def test_someone_reached_twice_gets_one_email(engine: Engine, settings: Settings, world: World) -> None:
    with engine.begin() as conn:
        sent = notifications.certification_revoked(conn, settings, programme_id=8, title="Biogas",
                                                   owner_ids=[world.developer, world.developer, world.certifier],
                                                   certifier_id=world.certifier, by_government=True,
                                                   link=LINK)  # fmt: skip
    assert sent == 4
    assert len(_outbox(engine)) == 4  # _outbox fails on a second email to one address


def test_no_email_survives_a_rolled_back_change(engine: Engine, settings: Settings, world: World) -> None:
    with engine.connect() as conn:
        transaction = conn.begin()
        assert notifications.programme_rejected(conn, settings, programme_id=3, title="Hydro",
                                                owner_ids=[world.developer], reason="No", link=LINK) == 2  # fmt: skip
        transaction.rollback()
    assert _outbox(engine) == {}


# ------------------------------------------------------------------------------------------------ rendering


EVENTS: dict[str, Callable[[Connection, Settings, World], int]] = {
    "programme_created": lambda conn, settings, world: notifications.programme_created(
        conn, settings, programme_id=1, title="T", external_id="E", owner_ids=[world.developer],
        credit_estimate=10, link=LINK),
    "programme_authorised": lambda conn, settings, world: notifications.programme_authorised(
        conn, settings, programme_id=1, title="T", owner_ids=[world.developer], serial_number="S", issued=0,
        link=LINK),
    "programme_rejected": lambda conn, settings, world: notifications.programme_rejected(
        conn, settings, programme_id=1, title="T", owner_ids=[world.developer], reason="R", link=LINK),
    "credits_issued": lambda conn, settings, world: notifications.credits_issued(
        conn, settings, programme_id=1, title="T", owner_ids=[world.developer], amount=5, total_issued=5,
        credit_estimate=10, link=LINK, shares={world.developer: 5}),
    "programme_certified": lambda conn, settings, world: notifications.programme_certified(
        conn, settings, programme_id=1, title="T", owner_ids=[world.developer], certifier_id=world.certifier,
        link=LINK),
    "certification_revoked": lambda conn, settings, world: notifications.certification_revoked(
        conn, settings, programme_id=1, title="T", owner_ids=[world.developer], certifier_id=world.certifier,
        by_government=True, link=LINK),
}  # fmt: skip


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("event", EVENTS)
def test_every_programme_template_renders_in_every_language(
    engine: Engine, settings: Settings, world: World, event: str, language: str
) -> None:
    with engine.begin() as conn:
        conn.execute(text("update app.user_account set language = :language"), {"language": language})
        assert EVENTS[event](conn, settings, world) > 0
    emails = _outbox(engine)
    subjects = set()
    for email in emails.values():
        assert (email["template"], email["language"]) == (event, language)
        assert email["subject"]
        for leftover in ("{{", "}}", "{%", "%}"):
            assert leftover not in email["subject"] + email["body"]
        assert LINK in email["body"]
        subjects.add(email["subject"])
    assert len(subjects) == 1


def test_languages_get_their_own_words() -> None:
    """No template is an untranslated copy of the English one."""
    root = Path(notifications.__file__).parents[1] / "email" / "templates"
    for event in EVENTS:
        texts = {language: (root / language / f"{event}.txt").read_text() for language in LANGUAGES}
        assert len(set(texts.values())) == len(LANGUAGES), event


@pytest.mark.parametrize(
    ("value", "en", "fr", "es"),
    [(0, "0", "0", "0"), (999, "999", "999", "999"), (1234, "1,234", f"1{NNBSP}234", "1234"),
     (12345, "12,345", f"12{NNBSP}345", "12.345"), (1234567, "1,234,567", f"1{NNBSP}234{NNBSP}567", "1.234.567"),
     (-1234, "-1,234", f"-1{NNBSP}234", "-1234")],
)  # fmt: skip
def test_numbers_are_written_as_each_language_writes_them(value: int, en: str, fr: str, es: str) -> None:
    assert (format_number(value, "en"), format_number(value, "fr"), format_number(value, "es")) == (en, fr, es)
    assert format_number(value, "de") == en  # an unknown language falls back to English, as the templates do

"""Programme emails (reference §12.2, §5.1-5.4): who hears about a programme event, in which language.

Each function queues its emails through :func:`node.email.outbox.enqueue` on the caller's connection, so it must
be called inside the transaction of the change it reports: the emails exist if and only if the change commits, and
a change completed again after a crash (ADR 0010) does not send them twice.

Recipients are user accounts with the role Admin or Manager (plus Root for the Government group) of the
organisations concerned; ViewOnly users act on nothing, so they are not asked to. A deleted user has no row any
more, so every row is a live account. Users of a *suspended* organisation are still told: they can still sign in
and read, and the programme and its credits are still theirs (credits issued to them arrive frozen, which is
exactly what they need to hear). A person reached through two groups (an owner that is also the certifier, the
Root who is also a Government Admin) gets one email.

Every email is rendered in its recipient's language (``user_account.language``), numbers included: each
recipient's values are formatted for that language here, since the templates only place them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from node.config import Settings
from node.email.outbox import enqueue
from node.email.recipients import members, one_line, organisation_names, users
from node.i18n import language_or_default
from node.identity.permissions import ADMIN, GOVERNMENT, MANAGER, ROOT
from node.models.app import organisation, user_account

_u = user_account.c
_o = organisation.c

_GROUPING = {"en": (",", 1), "fr": ("\u202f", 1), "es": (".", 2)}
"""Per language: the thousands separator and the fewest digits the leading group must have before grouping is
used (CLDR: French groups with a narrow no-break space, Spanish writes 1234 but 12.345)."""


def format_number(value: int, language: str) -> str:
    """An integer as the recipient's language writes it (CLDR rules for en, fr, es; no Babel needed for that)."""
    separator, minimum = _GROUPING[language_or_default(language)]
    digits = str(abs(value))
    sign = "-" if value < 0 else ""
    if len(digits) < 3 + minimum:
        return sign + digits
    head = len(digits) % 3 or 3
    groups = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return sign + separator.join(groups)


def display_id(programme_id: int) -> str:
    """The programme id as users see it everywhere: zero-padded to 3 digits (reference §5.1)."""
    return f"{programme_id:03d}"


# ------------------------------------------------------------------------------------------------ the events


def programme_created(
    conn: Connection, settings: Settings, *, programme_id: int, title: str, external_id: str,
    owner_ids: Sequence[int], credit_estimate: int, link: str,
) -> int:  # fmt: skip
    """Tells the Government's Admins and Managers, and Root, that a programme awaits their authorisation.

    Returns the number of emails queued.
    """
    names = organisation_names(conn, owner_ids)
    proponents = [names[owner] for owner in dict.fromkeys(owner_ids)]
    return _send(
        conn, settings, _government_members(conn), "programme_created",
        _common(programme_id, title, link) | {"external_id": one_line(external_id), "proponents": proponents},
        numbers={"credit_estimate": credit_estimate},
    )  # fmt: skip


def programme_authorised(
    conn: Connection, settings: Settings, *, programme_id: int, title: str, owner_ids: Sequence[int],
    serial_number: str, issued: int, link: str, authorised_at: datetime | None = None,
) -> int:  # fmt: skip
    """Tells the owners' Admins and Managers that the Government authorised their programme.

    ``authorised_at`` defaults to now; a caller completing the change later (a recovery) can pass the time it
    happened on chain so the email does not date it to the retry.
    """
    date = (authorised_at or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%d")
    values = _common(programme_id, title, link) | {"serial_number": one_line(serial_number), "date": date}
    return _send(conn, settings, members(conn, owner_ids), "programme_authorised", values,
                 numbers={"issued": issued})  # fmt: skip


def programme_rejected(
    conn: Connection, settings: Settings, *, programme_id: int, title: str, owner_ids: Sequence[int], reason: str,
    link: str,
) -> int:  # fmt: skip
    """Tells the owners' Admins and Managers that the Government rejected their programme, and why."""
    values = _common(programme_id, title, link) | {"reason": reason.strip()}
    return _send(conn, settings, members(conn, owner_ids), "programme_rejected", values)


def credits_issued(
    conn: Connection, settings: Settings, *, programme_id: int, title: str, owner_ids: Sequence[int], amount: int,
    total_issued: int, credit_estimate: int, link: str, shares: Mapping[int, int] | None = None,
) -> int:  # fmt: skip
    """Tells the owners' Admins and Managers that credits were issued for their programme.

    ``shares`` (owner organisation id -> credits of *this* issuance, e.g. the contract's exact apportionment), when
    given, is listed by organisation name in the order of ``owner_ids``; co-owners see each other's shares, as
    they see the programme's ownership percentages.
    """
    given = shares or {}
    ordered = list(dict.fromkeys([*owner_ids, *given]))  # owners first, in their order; then anyone else given
    names = organisation_names(conn, [owner for owner in ordered if owner in given])
    share_list = [(names[owner], given[owner]) for owner in ordered if owner in given]
    return _send(
        conn, settings, members(conn, owner_ids), "credits_issued", _common(programme_id, title, link),
        numbers={"amount": amount, "total_issued": total_issued, "credit_estimate": credit_estimate},
        shares=share_list,
    )  # fmt: skip


def programme_certified(
    conn: Connection, settings: Settings, *, programme_id: int, title: str, owner_ids: Sequence[int],
    certifier_id: int, link: str,
) -> int:  # fmt: skip
    """Tells the owners' Admins and Managers which certifier certified their programme."""
    values = _common(programme_id, title, link) | {
        "certifier_name": organisation_names(conn, [certifier_id])[certifier_id]
    }
    return _send(conn, settings, members(conn, owner_ids), "programme_certified", values)


def certification_revoked(
    conn: Connection, settings: Settings, *, programme_id: int, title: str, owner_ids: Sequence[int],
    certifier_id: int, by_government: bool, link: str,
) -> int:  # fmt: skip
    """Tells the owners' Admins and Managers that a certification was revoked; when the Government revoked it,
    also the certifier's Admins and Managers, who did not do it themselves (reference: ``..._BY_CERT``,
    ``..._BY_GOVT_TO_PROGRAMME``, ``..._BY_GOVT_TO_CERT``, one template told apart by ``by_government`` and
    ``to_certifier``). A certifier revoking its own certification knows already, so its users are not told."""
    values = _common(programme_id, title, link) | {
        "certifier_name": organisation_names(conn, [certifier_id])[certifier_id], "by_government": by_government,
    }  # fmt: skip
    owners = members(conn, owner_ids)
    sent = _send(conn, settings, owners, "certification_revoked", values | {"to_certifier": False})
    if by_government:
        reached = {row["user_id"] for row in owners}
        certifier_users = [row for row in members(conn, [certifier_id]) if row["user_id"] not in reached]
        sent += _send(conn, settings, certifier_users, "certification_revoked", values | {"to_certifier": True})
    return sent


# ------------------------------------------------------------------------------------------------ internals


def _common(programme_id: int, title: str, link: str) -> dict[str, Any]:
    return {"programme": display_id(programme_id), "title": one_line(title), "link": link}


def _government_members(conn: Connection) -> list[dict[str, Any]]:
    """The Government's Admins and Managers, and Root (whichever organisation it sits in)."""
    government = select(_o.organisation_id).where(_o.role == GOVERNMENT).scalar_subquery()
    return users(conn, or_(and_(_u.organisation_id == government, _u.role.in_((ADMIN, MANAGER))), _u.role == ROOT))


def _send(
    conn: Connection, settings: Settings, recipients: Sequence[Mapping[str, Any]], template: str,
    values: Mapping[str, Any], *, numbers: Mapping[str, int] | None = None,
    shares: Sequence[tuple[str, int]] | None = None,
) -> int:  # fmt: skip
    """Queues ``template`` to each recipient once, in their language, with ``numbers`` (and the amounts of
    ``shares``) formatted for it; returns how many were queued."""
    seen: set[str] = set()
    for user in recipients:
        if user["email"] in seen:
            continue
        seen.add(user["email"])
        language = language_or_default(user["language"])
        localised: dict[str, Any] = {key: format_number(value, language) for key, value in (numbers or {}).items()}
        if shares is not None:
            localised["shares"] = [{"organisation": name, "amount": format_number(amount, language)}
                                   for name, amount in shares]  # fmt: skip
        enqueue(conn, settings, to=user["email"], language=language, template=template, name=user["name"],
                **values, **localised)  # fmt: skip
    return len(seen)

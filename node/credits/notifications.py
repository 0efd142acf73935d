"""Credit transfer emails (reference §6.2-6.3, §12.2): who hears about a transfer, in which language.

The same approach as the programme emails (:mod:`node.programmes.notifications`): each function queues its emails
through :func:`node.email.outbox.enqueue` on the caller's connection, so it must be called inside the transaction
of the change it reports (the emails exist if and only if the change commits, and a change completed again after a
crash does not send them twice). Recipients are the Admins and Managers of the organisations concerned, never
ViewOnly users; a person reached through two organisations' groups (the asker that is also the receiver) gets one
email. Every email is rendered in its recipient's language, the amount written as that language writes numbers.

The reference's many transfer template ids map onto five templates told apart by variables:

| function             | template             | reference ids                                                       |
|----------------------|----------------------|---------------------------------------------------------------------|
| `transfer_requested` | `transfer_requested` | CREDIT_TRANSFER_REQUISITIONS, CREDIT_TRANSFER_GOV (`third_party`)    |
| `credits_sent`       | `credits_sent`       | CREDIT_SEND_DEVELOPER                                               |
| `transfer_approved`  | `transfer_approved`  | CREDIT_TRANSFER_ACCEPTED, CREDIT_TRANSFER_GOV_ACCEPTED_TO_INITIATOR  |
|                      |                      | / _TO_RECEIVER (`to_receiver`, `requested_by_receiver`)              |
| `transfer_rejected`  | `transfer_rejected`  | CREDIT_TRANSFER_REJECTED, CREDIT_TRANSFER_GOV_REJECTED               |
| `transfer_cancelled` | `transfer_cancelled` | CREDIT_TRANSFER_CANCELLATION, CREDIT_TRANSFER_GOV_CANCELLATION,      |
|                      |                      | ..._CANCELLATION_SYS_TO_SENDER / _SYS_TO_INITIATOR (`by_system`,     |
|                      |                      | `to_initiator`)                                                     |

Retirements (reference §6.4, §12.2) likewise map onto five templates. Each shows the holder, the amount and the
retirement type in the recipient's language, and for a cross-border retirement the receiving country (its name in
the recipient's language, from pycountry's translations), the beneficiary and the split between the international
and the OMGE accounts:

| function                    | template                    | reference ids                                        |
|-----------------------------|-----------------------------|------------------------------------------------------|
| `retirement_requested`      | `retirement_requested`      | CREDIT_RETIREMENT_BY_DEV                             |
| `credits_retired`           | `credits_retired`           | CREDIT_RETIREMENT_BY_GOV                             |
| `retirement_recognised`     | `retirement_recognised`     | CREDIT_RETIREMENT_RECOGNITION                        |
| `retirement_not_recognised` | `retirement_not_recognised` | CREDIT_RETIREMENT_NOT_RECOGNITION                    |
| `retirement_cancelled`      | `retirement_cancelled`      | CREDIT_RETIREMENT_CANCEL, CREDIT_RETIREMENT_CANCEL_  |
|                             |                             | SYS_TO_INITIATOR / _SYS_TO_GOV (`by_system`,         |
|                             |                             | `to_initiator`)                                      |
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from node.config import Settings
from node.email.outbox import enqueue
from node.email.recipients import members, one_line, organisation_names
from node.i18n import country_name, language_or_default
from node.programmes.notifications import _government_members, display_id, format_number

Recipients = list[dict[str, Any]]

RETIREMENT_TYPES = {
    "en": {"cross_border": "cross-border transfer", "legal_action": "legal action", "other": "other"},
    "fr": {"cross_border": "transfert transfrontalier", "legal_action": "action en justice", "other": "autre"},
    "es": {"cross_border": "transferencia transfronteriza", "legal_action": "acción legal", "other": "otro"},
}
"""The retirement types as each language writes them (the reference's reason text of CREDIT_RETIREMENT_BY_GOV)."""


# ------------------------------------------------------------------------------------------------ the events


def transfer_requested(
    conn: Connection, settings: Settings, *, transfer_id: int, programme_id: int, programme_title: str, amount: int,
    from_id: int, to_id: int, initiator_id: int, link: str,
) -> int:  # fmt: skip
    """Asks the sender's Admins and Managers to approve or reject a pending request.

    ``third_party`` tells the template who asks: the receiver for itself (CREDIT_TRANSFER_REQUISITIONS), or someone
    else (the Government) for a third party (CREDIT_TRANSFER_GOV). It is ``initiator_id != to_id``, which for a
    pending request is the same as "neither sender nor receiver" (the sender's own Admins and Managers send at once,
    they never request) and keeps the wording right if that ever changed. Returns the number of emails queued.
    """
    values = _common(conn, transfer_id, programme_id, programme_title, from_id, to_id, initiator_id, link)
    values["third_party"] = initiator_id != to_id
    return _send(conn, settings, "transfer_requested", values, amount, [(members(conn, [from_id]), {})])


def credits_sent(
    conn: Connection, settings: Settings, *, transfer_id: int, programme_id: int, programme_title: str, amount: int,
    from_id: int, to_id: int, link: str, names: Mapping[int, str | None] | None = None,
) -> int:  # fmt: skip
    """Tells the receiver's Admins and Managers that a holder sent them credits (executed at once). ``names``: the
    organisations' names by id if the caller has them already (one query fewer)."""
    values = _common(conn, transfer_id, programme_id, programme_title, from_id, to_id, None, link, names)
    return _send(conn, settings, "credits_sent", values, amount, [(members(conn, [to_id]), {})])


def transfer_approved(
    conn: Connection, settings: Settings, *, transfer_id: int, programme_id: int, programme_title: str, amount: int,
    from_id: int, to_id: int, initiator_id: int, link: str, names: Mapping[int, str | None] | None = None,
) -> int:  # fmt: skip
    """Tells the initiator's and the receiver's Admins and Managers that the sender approved (and the credits moved).

    When the receiver asked for itself, its users get one email (``requested_by_receiver``); otherwise the
    initiator's users hear their request was approved and the receiver's users that credits arrived
    (``to_receiver``).
    """
    values = _common(conn, transfer_id, programme_id, programme_title, from_id, to_id, initiator_id, link, names)
    values["requested_by_receiver"] = initiator_id == to_id
    groups = [(members(conn, [initiator_id]), {"to_receiver": initiator_id == to_id}),
              (members(conn, [to_id]), {"to_receiver": True})]  # fmt: skip
    return _send(conn, settings, "transfer_approved", values, amount, groups)


def transfer_rejected(
    conn: Connection, settings: Settings, *, transfer_id: int, programme_id: int, programme_title: str, amount: int,
    from_id: int, to_id: int, initiator_id: int, remarks: str | None, link: str,
) -> int:  # fmt: skip
    """Tells the initiator's Admins and Managers that the sender rejected their request, with its remarks if any."""
    values = _common(conn, transfer_id, programme_id, programme_title, from_id, to_id, initiator_id, link)
    values |= {"requested_by_receiver": initiator_id == to_id, "remarks": _text(remarks)}
    return _send(conn, settings, "transfer_rejected", values, amount, [(members(conn, [initiator_id]), {})])


def transfer_cancelled(
    conn: Connection, settings: Settings, *, transfer_id: int, programme_id: int, programme_title: str, amount: int,
    from_id: int, to_id: int, initiator_id: int, by_system: bool, reason: str | None, link: str,
) -> int:  # fmt: skip
    """Tells the sender's Admins and Managers that a request awaiting them was cancelled; when the registry cancelled
    it (the sender no longer holds enough credits), also the initiator's, who did not do it themselves. An asker
    cancelling its own request knows already, so its users are not told."""
    values = _common(conn, transfer_id, programme_id, programme_title, from_id, to_id, initiator_id, link)
    values |= {"by_system": by_system, "reason": _text(reason)}
    groups: list[tuple[Recipients, dict[str, Any]]] = [(members(conn, [from_id]), {"to_initiator": False})]
    if by_system:
        groups.append((members(conn, [initiator_id]), {"to_initiator": True}))
    return _send(conn, settings, "transfer_cancelled", values, amount, groups)


# ------------------------------------------------------------------------------------------------ the retirement events


def retirement_requested(
    conn: Connection, settings: Settings, *, retirement_id: int, programme_id: int, programme_title: str,
    amount: int, holder_id: int, initiator_id: int, retirement_type: str, country: str | None,
    beneficiary: str | None, omge_amount: int, link: str,
) -> int:  # fmt: skip
    """Asks the Government's Admins and Managers, and Root, to recognise or not a holder's retirement request
    (CREDIT_RETIREMENT_BY_DEV). Returns the number of emails queued."""
    values, localise = _retirement(conn, retirement_id, programme_id, programme_title, amount, holder_id,
                                   initiator_id, retirement_type, country, beneficiary, omge_amount, link)  # fmt: skip
    groups: list[tuple[Recipients, dict[str, Any]]] = [(_government_members(conn), {})]
    return _send(conn, settings, "retirement_requested", values, amount, groups, localise)


def credits_retired(
    conn: Connection, settings: Settings, *, retirement_id: int, programme_id: int, programme_title: str,
    amount: int, holder_id: int, initiator_id: int, retirement_type: str, country: str | None,
    beneficiary: str | None, omge_amount: int, link: str,
) -> int:  # fmt: skip
    """Tells the holder's Admins and Managers that the Government retired their credits, and why
    (CREDIT_RETIREMENT_BY_GOV)."""
    values, localise = _retirement(conn, retirement_id, programme_id, programme_title, amount, holder_id,
                                   initiator_id, retirement_type, country, beneficiary, omge_amount, link)  # fmt: skip
    return _send(conn, settings, "credits_retired", values, amount, [(members(conn, [holder_id]), {})], localise)


def retirement_recognised(
    conn: Connection, settings: Settings, *, retirement_id: int, programme_id: int, programme_title: str,
    amount: int, holder_id: int, initiator_id: int, retirement_type: str, country: str | None,
    beneficiary: str | None, omge_amount: int, link: str,
) -> int:  # fmt: skip
    """Tells the holder's Admins and Managers, and the initiator's when it is another organisation, that the
    Government recognised the request (and the credits were retired) (CREDIT_RETIREMENT_RECOGNITION)."""
    values, localise = _retirement(conn, retirement_id, programme_id, programme_title, amount, holder_id,
                                   initiator_id, retirement_type, country, beneficiary, omge_amount, link)  # fmt: skip
    groups = [(members(conn, [holder_id]), {"to_initiator": initiator_id == holder_id}),
              (members(conn, [initiator_id]), {"to_initiator": True})]  # fmt: skip
    return _send(conn, settings, "retirement_recognised", values, amount, groups, localise)


def retirement_not_recognised(
    conn: Connection, settings: Settings, *, retirement_id: int, programme_id: int, programme_title: str,
    amount: int, holder_id: int, initiator_id: int, retirement_type: str, country: str | None,
    beneficiary: str | None, omge_amount: int, remarks: str | None, link: str,
) -> int:  # fmt: skip
    """Tells the initiator's Admins and Managers, and the holder's when it is another organisation, that the
    Government did not recognise the request, with its remarks if any (CREDIT_RETIREMENT_NOT_RECOGNITION)."""
    values, localise = _retirement(conn, retirement_id, programme_id, programme_title, amount, holder_id,
                                   initiator_id, retirement_type, country, beneficiary, omge_amount, link)  # fmt: skip
    values["remarks"] = _text(remarks)
    groups = [(members(conn, [initiator_id]), {"to_initiator": True}),
              (members(conn, [holder_id]), {"to_initiator": False})]  # fmt: skip
    return _send(conn, settings, "retirement_not_recognised", values, amount, groups, localise)


def retirement_cancelled(
    conn: Connection, settings: Settings, *, retirement_id: int, programme_id: int, programme_title: str,
    amount: int, holder_id: int, initiator_id: int, retirement_type: str, country: str | None,
    beneficiary: str | None, omge_amount: int, by_system: bool, reason: str | None, link: str,
) -> int:  # fmt: skip
    """Tells the Government's Admins and Managers, and Root (those asked to recognise it), that a request awaiting
    them was cancelled (CREDIT_RETIREMENT_CANCEL, ..._SYS_TO_GOV); when the registry cancelled it (the holder no
    longer holds enough credits, an organisation was suspended, the OMGE rate changed: ``reason``), also the
    initiator's, who did not do it themselves (..._SYS_TO_INITIATOR). An asker cancelling its own request knows
    already, so its users are not told."""
    values, localise = _retirement(conn, retirement_id, programme_id, programme_title, amount, holder_id,
                                   initiator_id, retirement_type, country, beneficiary, omge_amount, link)  # fmt: skip
    values |= {"by_system": by_system, "reason": _text(reason)}
    groups: list[tuple[Recipients, dict[str, Any]]] = [(_government_members(conn), {"to_initiator": False})]
    if by_system:
        groups.append((members(conn, [initiator_id]), {"to_initiator": True}))
    return _send(conn, settings, "retirement_cancelled", values, amount, groups, localise)


# ------------------------------------------------------------------------------------------------ internals


def _text(text: str | None) -> str | None:
    """Free text (remarks, a reason) kept as written, line breaks included; blank is none."""
    return (text.strip() or None) if text is not None else None


def _common(
    conn: Connection, transfer_id: int, programme_id: int, title: str, from_id: int, to_id: int,
    initiator_id: int | None, link: str, known: Mapping[int, str | None] | None = None,
) -> dict[str, Any]:  # fmt: skip
    ids = [from_id, to_id] + ([initiator_id] if initiator_id is not None else [])
    if known is not None and all(known.get(i) is not None for i in ids):
        names = {i: one_line(str(known[i])) for i in ids}
    else:
        names = organisation_names(conn, ids)
    values = {"transfer": str(transfer_id), "programme": display_id(programme_id), "title": one_line(title),
              "sender": names[from_id], "receiver": names[to_id], "link": link}  # fmt: skip
    if initiator_id is not None:
        values["initiator"] = names[initiator_id]
    return values


def _send(
    conn: Connection, settings: Settings, template: str, values: Mapping[str, Any], amount: int,
    groups: Sequence[tuple[Recipients, Mapping[str, Any]]],
    localise: Callable[[str], Mapping[str, Any]] | None = None,
) -> int:  # fmt: skip
    """Queues ``template`` once to each recipient of ``groups`` (the first group that reaches a person decides
    the group's values it gets), in their language, with ``amount`` (and the values ``localise`` gives for the
    language) written for it; returns how many were queued."""
    seen: set[str] = set()
    for recipients, extra in groups:
        for user in recipients:
            if user["email"] in seen:
                continue
            seen.add(user["email"])
            language = language_or_default(user["language"])
            localised = localise(language) if localise is not None else {}
            enqueue(conn, settings, to=user["email"], language=language, template=template, name=user["name"],
                    **values, **extra, amount=format_number(amount, language), **localised)  # fmt: skip
    return len(seen)


def _retirement(
    conn: Connection, retirement_id: int, programme_id: int, title: str, amount: int, holder_id: int,
    initiator_id: int, retirement_type: str, country: str | None, beneficiary: str | None, omge_amount: int,
    link: str,
) -> tuple[dict[str, Any], Callable[[str], dict[str, Any]]]:  # fmt: skip
    """A retirement's values every recipient shares, and the function giving those written in their language: the
    type, the country's name, and (cross-border) the international and OMGE parts of the amount."""
    if retirement_type not in RETIREMENT_TYPES["en"]:
        raise ValueError(f"unknown retirement type {retirement_type!r}")
    names = organisation_names(conn, [holder_id, initiator_id])
    cross_border = retirement_type == "cross_border"
    code = (country or "").strip() if cross_border else ""
    values = {"retirement": str(retirement_id), "programme": display_id(programme_id), "title": one_line(title),
              "holder": names[holder_id], "initiator": names[initiator_id], "by_holder": initiator_id == holder_id,
              "retirement_type": retirement_type, "cross_border": cross_border,
              "beneficiary": (one_line(beneficiary) or None) if cross_border and beneficiary else None,
              "link": link}  # fmt: skip

    def localise(language: str) -> dict[str, Any]:
        return {"kind": RETIREMENT_TYPES[language][retirement_type],
                "country": country_name(code, language) if code else None,
                "international": format_number(amount - omge_amount, language),
                "omge": format_number(omge_amount, language)}  # fmt: skip

    return values, localise

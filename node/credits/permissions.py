"""The credit permission matrix (reference §4.2, Transfers column), in one place.

| action                        | who                                                                           |
|-------------------------------|-------------------------------------------------------------------------------|
| read an organisation's        | Root and Government users: every organisation; others: their own              |
| holdings                      |                                                                               |
| read the retirement accounts  | every authenticated caller                                                    |
| send credits (executes now)   | Admins and Managers of the sending organisation                               |
| request a transfer (pending)  | Root and Government users but ViewOnly: between any two organisations; other  |
|                               | users but ViewOnly: credits to their own organisation                         |
| approve or reject a request   | Admins and Managers of the sending organisation                               |
| cancel a request              | Admins and Managers of the organisation that asked; Root and Government users |
|                               | but ViewOnly                                                                  |
| read transfers                | Root and Government users: all; certifiers: executed and approved ones;       |
|                               | others: those their organisation sends, receives or asked for                 |
| retire at once (any type)     | Root and Government Admins and Managers, from any holder                      |
| request a cross-border        | Admins and Managers of the holding organisation (its own credits)             |
| retirement (pending)          |                                                                               |
| recognise or not recognise    | Root and Government Admins and Managers                                       |
| cancel a retirement request   | Admins and Managers of the organisation that asked                            |
| read retirements              | Root and Government users: all; certifiers: recognised and retired ones;      |
|                               | others: those of credits their organisation held or asked for                 |
| any write                     | refused while the caller's organisation is suspended                          |
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, true

from node.errors import Forbidden
from node.identity.permissions import ADMIN, CERTIFIER, MANAGER, ROOT, VIEW_ONLY, Principal, require_writable
from node.models.app import credit_retirement, credit_transfer

_t, _r = credit_transfer.c, credit_retirement.c
DONE_STATES = ("executed", "approved")
RETIRED_STATES = ("retired", "recognised")


def _officer(principal: Principal) -> bool:
    return principal.is_root or (principal.in_government and principal.role != VIEW_ONLY)


def _holder_manager(principal: Principal, organisation_id: int) -> bool:
    return principal.organisation_id == organisation_id and principal.role in (ROOT, ADMIN, MANAGER)


def authorize_read_holdings(principal: Principal, organisation_id: int) -> None:
    if not (principal.is_root or principal.in_government or principal.organisation_id == organisation_id):
        raise Forbidden("Only the organisation itself and the Government can read an organisation's holdings.")


def sends_directly(principal: Principal, from_account: int) -> bool:
    """Whether the transfer executes at once: the holder's own Admin or Manager sends its own credits."""
    return _holder_manager(principal, from_account)


def authorize_transfer(principal: Principal, from_account: int, to_account: int) -> None:
    require_writable(principal)
    if sends_directly(principal, from_account) or _officer(principal):
        return
    if principal.role != VIEW_ONLY and principal.organisation_id == to_account:
        return
    raise Forbidden(
        "Only the sender's Admins and Managers send credits; others may request credits for their own "
        "organisation, and Government users between any two organisations."
    )


def authorize_decide(principal: Principal, from_account: int) -> None:
    """Approve or reject: the sending organisation's Admins and Managers."""
    require_writable(principal)
    if not _holder_manager(principal, from_account):
        raise Forbidden("Only Admins and Managers of the sending organisation can approve or reject the request.")


def authorize_cancel(principal: Principal, initiator_organisation_id: int) -> None:
    require_writable(principal)
    if not (_holder_manager(principal, initiator_organisation_id) or _officer(principal)):
        raise Forbidden("Only the organisation that asked, or the Government, can cancel the request.")


def visible_transfers(principal: Principal) -> ColumnElement[bool]:
    if principal.is_root or principal.in_government:
        return true()
    mine = or_(
        _t.from_account == principal.organisation_id,
        _t.to_account == principal.organisation_id,
        _t.initiator_organisation_id == principal.organisation_id,
    )
    if principal.organisation_role == CERTIFIER:
        return or_(mine, _t.state.in_(DONE_STATES))
    return mine


def retires_directly(principal: Principal) -> bool:
    """Whether a retirement executes at once: the Government's (reference §6.4)."""
    return _officer(principal)


def authorize_retire(principal: Principal, from_account: int, cross_border: bool) -> None:
    require_writable(principal)
    if retires_directly(principal):
        return
    if _holder_manager(principal, from_account):
        if cross_border:
            return
        raise Forbidden("Only the Government retires credits for legal action or other reasons; a holder may "
                        "request a cross-border retirement of its own credits.")  # fmt: skip
    raise Forbidden("Only the holder's Admins and Managers request a retirement of its credits, and the Government "
                    "retires them.")  # fmt: skip


def authorize_recognise(principal: Principal) -> None:
    """Recognise or not recognise a retirement request: the Government's Admins and Managers."""
    require_writable(principal)
    if not _officer(principal):
        raise Forbidden("Only the Government's Admins and Managers recognise retirement requests.")


def authorize_cancel_retirement(principal: Principal, initiator_organisation_id: int) -> None:
    require_writable(principal)
    if not _holder_manager(principal, initiator_organisation_id):
        raise Forbidden("Only the organisation that asked can cancel its retirement request; the Government does "
                        "not recognise one instead.")  # fmt: skip


def visible_retirements(principal: Principal) -> ColumnElement[bool]:
    if principal.is_root or principal.in_government:
        return true()
    mine = or_(_r.from_account == principal.organisation_id, _r.initiator_organisation_id == principal.organisation_id)
    if principal.organisation_role == CERTIFIER:
        return or_(mine, _r.state.in_(RETIRED_STATES))
    return mine

"""The programme permission matrix (reference §4.2 and §4.3), in one place.

| action                       | who                                                                            |
|------------------------------|--------------------------------------------------------------------------------|
| read a programme, its blocks | Root, Government users and API organisations' Admins: every programme;        |
| and history                  | developers: authorised ones and their own; certifiers: authorised ones and     |
|                              | those they certify; everyone else: authorised ones                             |
| add materials (re-anchor)    | Root; Government users but ViewOnly; the programme's developers but ViewOnly;  |
|                              | Admins of the API organisation that submitted it                              |
| create                       | Root; Government users but ViewOnly; Admins of API organisations (also by API  |
|                              | key); developer users but ViewOnly, only for programmes they own               |
| authorise, reject, issue     | Root; Government users but ViewOnly                                            |
| certify                      | certifier users but ViewOnly, for their own organisation, authorised ones only |
| revoke a certification       | certifier users but ViewOnly (their own); Root and Government users but        |
|                              | ViewOnly, naming the certifier                                                 |
| see who acted in the history | Root and Government users: everyone; others: users of their own organisation   |
| any write                    | refused while the caller's organisation is suspended                           |

The reference lets an API organisation's Admin certify and revoke in its CASL rules but refuses it in the
service; so do we, in one place.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, or_, select, true

from node.errors import Forbidden, InvalidInput
from node.identity.permissions import (
    API,
    CERTIFIER,
    DEVELOPER,
    VIEW_ONLY,
    Principal,
    require_writable,
)
from node.models.chain import programme, programme_certifier, programme_owner

AUTHORISED = "authorised"
"""The projection's stage value (``indexer.handlers.STAGE``)."""


def _can_write(principal: Principal) -> bool:
    return principal.role != VIEW_ONLY


def _registry_officer(principal: Principal) -> bool:
    """Root, or a Government user who may change things."""
    return principal.is_root or (principal.in_government and _can_write(principal))


def authorize_create(principal: Principal) -> None:
    """Who may submit a programme; a developer must also be among its proponents (checked with the owners)."""
    require_writable(principal)
    api_admin = principal.organisation_role == API and principal.is_admin
    developer = principal.organisation_role == DEVELOPER and _can_write(principal)
    if not (_registry_officer(principal) or api_admin or developer):
        raise Forbidden(
            "Only Root, Government users, Admins of API organisations and programme developers (not ViewOnly) can "
            "create programmes."
        )


def authorize_own_proponent(principal: Principal, owner_ids: list[int]) -> None:
    if principal.organisation_role == DEVELOPER and principal.organisation_id not in owner_ids:
        raise Forbidden("A programme developer can only create programmes its own organisation is a proponent of.")


def authorize_details_change(principal: Principal, owner_ids: list[int], *, created_by: int | None) -> None:
    """Adding materials (and so re-anchoring the details): the registry, the programme's own developers (not
    ViewOnly), and Admins of the API organisation that submitted it (its MRV system)."""
    require_writable(principal)
    api_admin = principal.organisation_role == API and principal.is_admin and created_by == principal.organisation_id
    owner = (principal.organisation_role == DEVELOPER and _can_write(principal)
             and principal.organisation_id in owner_ids)  # fmt: skip
    if not (_registry_officer(principal) or api_admin or owner):
        raise Forbidden("Only Root, Government users, Admins of API organisations and the programme's own "
                        "developers (not ViewOnly) can add materials.")  # fmt: skip


def authorize_registry_decision(principal: Principal) -> None:
    """Authorise, reject and issue: the registry authority's decisions."""
    require_writable(principal)
    if not _registry_officer(principal):
        raise Forbidden("Only Root and Government users (not ViewOnly) can authorise, reject or issue credits.")


def authorize_certify(principal: Principal) -> int:
    """Returns the certifier organisation that certifies: the caller's own."""
    require_writable(principal)
    if principal.organisation_role != CERTIFIER or not _can_write(principal):
        raise Forbidden("Only users of a certifier organisation (not ViewOnly) can certify programmes.")
    return principal.organisation_id


def authorize_revoke(principal: Principal, certifier_id: int | None) -> int:
    """Returns the certifier whose certification ends: the caller's own, or the one the Government names."""
    require_writable(principal)
    if principal.organisation_role == CERTIFIER and _can_write(principal):
        if certifier_id not in (None, principal.organisation_id):
            raise Forbidden("A certifier can only revoke its own certification.")
        return principal.organisation_id
    if _registry_officer(principal):
        if certifier_id is None:
            raise InvalidInput("Name the certifier whose certification the Government revokes.", field="certifier_id")
        return certifier_id
    raise Forbidden("Only the certifier itself, Root or Government users (not ViewOnly) can revoke a certification.")


def visible_programmes(principal: Principal) -> ColumnElement[bool]:
    """Row filter of every programme query: the programmes this caller may read."""
    if principal.is_root or principal.in_government or (principal.organisation_role == API and principal.is_admin):
        return true()
    authorised = programme.c.stage == AUTHORISED
    if principal.organisation_role == DEVELOPER:
        owned = exists(
            select(1).where(
                programme_owner.c.programme_id == programme.c.programme_id,
                programme_owner.c.account_id == principal.organisation_id,
            )
        )
        return or_(authorised, owned)
    if principal.organisation_role == CERTIFIER:
        certified = exists(
            select(1).where(
                and_(
                    programme_certifier.c.programme_id == programme.c.programme_id,
                    programme_certifier.c.certifier_id == principal.organisation_id,
                    programme_certifier.c.certified,
                )
            )
        )
        return or_(authorised, certified)
    return authorised


def may_see_actor(principal: Principal, actor_organisation_id: int | None) -> bool:
    """Whether the history names the user who acted (reference §10.5 getHistory)."""
    return principal.is_root or principal.in_government or actor_organisation_id == principal.organisation_id

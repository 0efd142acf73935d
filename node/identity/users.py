"""Users: creation with a set-password link, update, delete, list (reference §3.3, §4, §10.3).

Changes that could leave an organisation without an Admin lock the organisation's row first, so two
concurrent deletions cannot both remove "the other" Admin. An update takes back what the old values granted:
an email change tells the old address and voids its unused links, a demotion from Admin revokes the user's API
key.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from node.config import Settings
from node.email.outbox import enqueue
from node.errors import AlreadyExists, Forbidden, InvalidState, NotFound
from node.identity import api_keys, audit, permissions
from node.identity.listing import ListQuery, Page, fetch_page
from node.identity.organisations import name_choices
from node.identity.password_links import send_set_password, void_links
from node.identity.permissions import ADMIN, Principal, UserTarget
from node.identity.schemas import UserIn, UserUpdate
from node.models.app import organisation, user_account

_u = user_account.c
PUBLIC_COLUMNS = (
    _u.user_id, _u.email, _u.name, _u.role, _u.organisation_id, _u.phone, _u.language, _u.created_at,
    organisation.c.name.label("organisation_name"), organisation.c.role.label("organisation_role"),
    organisation.c.state.label("organisation_state"), (_u.password_hash.is_not(None)).label("password_set"),
)  # fmt: skip


def _base() -> Any:
    return select(*PUBLIC_COLUMNS).join(organisation, organisation.c.organisation_id == _u.organisation_id)


def _target(conn: Connection, principal: Principal, user_id: int) -> UserTarget:
    """The user if the caller may see it; invisible users are 404, as if they did not exist."""
    row = conn.execute(select(_u.user_id, _u.role, _u.organisation_id).where(_u.user_id == user_id)).first()
    if row is None:
        raise NotFound("No user {user_id}.", params={"user_id": user_id})
    target = UserTarget(row.user_id, row.role, row.organisation_id)
    if not permissions.can_see_user(principal, target):
        raise NotFound("No user {user_id}.", params={"user_id": user_id})
    return target


def _lock_organisation(conn: Connection, organisation_id: int) -> Any:
    row = conn.execute(
        select(organisation).where(organisation.c.organisation_id == organisation_id).with_for_update()
    ).first()
    if row is None:
        raise NotFound("No organisation {organisation_id}.", params={"organisation_id": organisation_id})
    return row


def _admins(conn: Connection, organisation_id: int) -> int:
    return int(conn.execute(select(func.count()).where(_u.organisation_id == organisation_id, _u.role == ADMIN))
               .scalar_one())  # fmt: skip


def insert_user(
    conn: Connection, settings: Settings, organisation_id: int, organisation_name: str, user: UserIn
) -> int:
    """Inserts the user without a password and queues the welcome email with its set-password link."""
    if conn.execute(select(exists().where(_u.email == user.email))).scalar():
        raise AlreadyExists("A user with this email already exists.", field="email")
    try:
        with conn.begin_nested():
            user_id = int(conn.execute(insert(user_account).values(
                email=user.email, name=user.name, role=user.role, phone=user.phone, language=user.language,
                organisation_id=organisation_id,
            ).returning(_u.user_id)).scalar_one())  # fmt: skip
    except IntegrityError as exc:
        raise AlreadyExists("A user with this email already exists.", field="email") from exc
    send_set_password(conn, settings, user_id, welcome=True, organisation=organisation_name)
    return user_id


def create_user(conn: Connection, settings: Settings, principal: Principal, organisation_id: int, user: UserIn) -> int:
    org = _lock_organisation(conn, organisation_id)
    permissions.authorize_create_user(principal, organisation_id, org.role, _admins(conn, organisation_id) > 0)
    user_id = insert_user(conn, settings, organisation_id, org.name, user)
    audit.record(conn, principal, "user.create", organisation_id=organisation_id, target_id=user_id, email=user.email,
                 role=user.role)  # fmt: skip
    return user_id


def get_user(conn: Connection, principal: Principal, user_id: int) -> dict[str, Any]:
    _target(conn, principal, user_id)
    return dict(conn.execute(_base().where(_u.user_id == user_id)).mappings().one())


SORTABLE = {"name": _u.name, "email": _u.email, "role": _u.role, "organisation_id": _u.organisation_id,
            "created_at": _u.created_at, "user_id": _u.user_id}  # fmt: skip
"""The columns ``GET /users`` sorts by (the API offers exactly these)."""


def list_users(
    conn: Connection, principal: Principal, query: ListQuery, *, organisation_id: int | None = None,
    role: str | None = None,
) -> Page:  # fmt: skip
    where = [permissions.visible_users(principal)]
    where += [c == v for c, v in ((_u.organisation_id, organisation_id), (_u.role, role)) if v is not None]
    return fetch_page(
        conn, _base(), query, key=_u.user_id, where=where,
        sortable=SORTABLE, searchable=(_u.name, _u.email, organisation.c.name),
    )  # fmt: skip


def update_user(conn: Connection, settings: Settings, principal: Principal, user_id: int, changes: UserUpdate) -> None:
    target = _target(conn, principal, user_id)
    values = changes.model_dump(include=changes.model_fields_set)
    permissions.authorize_update_user(principal, target, set(values))
    if not values:
        return
    if values.get("role", ADMIN) != ADMIN and target.role == ADMIN:
        _lock_organisation(conn, target.organisation_id)
        if _admins(conn, target.organisation_id) <= 1:
            raise InvalidState("This is the organisation's last Admin; make another user Admin first.")
    if (
        "email" in values
        and conn.execute(select(exists().where(_u.email == values["email"], _u.user_id != user_id))).scalar()
    ):
        raise AlreadyExists("A user with this email already exists.", field="email")
    before = conn.execute(select(user_account).where(_u.user_id == user_id).with_for_update()).one()
    try:
        with conn.begin_nested():  # a concurrent change may take the email after the check above
            conn.execute(update(user_account).where(_u.user_id == user_id).values(**values))
    except IntegrityError as exc:
        raise AlreadyExists("A user with this email already exists.", field="email") from exc
    audit.record(conn, principal, "user.update", organisation_id=target.organisation_id, target_id=user_id,
                 changes=values)  # fmt: skip
    if values.get("email", before.email) != before.email:
        _email_changed(conn, settings, before, values["email"])
    if before.role == ADMIN and values.get("role", ADMIN) != ADMIN and api_keys.revoke_all(conn, user_id):
        audit.record(conn, principal, "api_key.revoke", organisation_id=target.organisation_id, target_id=user_id,
                     reason="no longer Admin")  # fmt: skip


def _email_changed(conn: Connection, settings: Settings, before: Any, new_email: str) -> None:
    """Tells the old address, whose owner may not have asked for the change (the user cannot change its own
    email; an Admin did), and deletes the links sent to it: bound to the old address they stop working anyway, but
    would work again if the email were changed back. A user still without a password gets a fresh welcome link
    at the new address."""
    void_links(conn, before.user_id)
    enqueue(conn, settings, to=before.email, language=before.language, template="email_changed", name=before.name,
            old_email=before.email, new_email=new_email)  # fmt: skip
    if before.password_hash is None:
        name = conn.execute(select(organisation.c.name).where(organisation.c.organisation_id == before.organisation_id))
        send_set_password(conn, settings, before.user_id, welcome=True, organisation=name.scalar_one())


def delete_user(conn: Connection, principal: Principal, user_id: int) -> None:
    target = _target(conn, principal, user_id)
    permissions.authorize_delete_user(principal, target)
    if target.role == ADMIN:
        _lock_organisation(conn, target.organisation_id)
        if _admins(conn, target.organisation_id) <= 1:
            raise InvalidState("This is the organisation's last Admin and cannot be deleted.")
    email = conn.execute(delete(user_account).where(_u.user_id == user_id).returning(_u.email)).scalar_one()
    audit.record(conn, principal, "user.delete", organisation_id=target.organisation_id, target_id=user_id,
                 email=email, role=target.role)  # fmt: skip


def resend_invitation(conn: Connection, settings: Settings, principal: Principal, user_id: int) -> None:
    """A fresh set-password link for a user who has not set a password yet (the first link may have expired)."""
    target = _target(conn, principal, user_id)
    permissions.authorize_update_user(principal, target, set())
    if principal.user_id == target.user_id:
        raise InvalidState("You already have a password; use forgot-password to reset it.")
    row = conn.execute(
        select(_u.password_hash, organisation.c.name)
        .join(organisation, organisation.c.organisation_id == _u.organisation_id)
        .where(_u.user_id == user_id)
    ).one()
    if row.password_hash is not None:
        raise InvalidState("This user has already set a password; they can use forgot-password.")
    send_set_password(conn, settings, user_id, welcome=False, organisation=row.name)
    audit.record(conn, principal, "user.invite", organisation_id=target.organisation_id, target_id=user_id)


def organisations_for_new_user(conn: Connection, principal: Principal) -> list[tuple[int, str]]:
    """(id, name) of the organisations the caller may add a user to: the permission matrix, asked per organisation."""
    with_admin = set(conn.execute(select(_u.organisation_id).where(_u.role == ADMIN).distinct()).scalars())
    roles = {int(row.organisation_id): str(row.role)
             for row in conn.execute(select(organisation.c.organisation_id, organisation.c.role))}  # fmt: skip
    allowed = []
    for organisation_id, name in name_choices(conn):
        try:
            permissions.authorize_create_user(principal, organisation_id, roles[organisation_id],
                                              organisation_id in with_admin)  # fmt: skip
        except Forbidden:
            continue
        allowed.append((organisation_id, name))
    return allowed

"""Organisations: creation with their first Admin, profile, update, logo, list (reference §3.2, §10.4).

An organisation's id is also its account on the chain, so ids come from a sequence and are never reused.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, exists, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from node import images
from node.config import Settings
from node.errors import AlreadyExists, InvalidInput, NotFound, PayloadTooLarge
from node.identity import audit, permissions
from node.identity.listing import ListQuery, Page, fetch_page
from node.identity.permissions import API, CERTIFIER, GOVERNMENT, Principal
from node.identity.schemas import CONTACT_FIELDS, NewOrganisation, OrganisationIn, OrganisationUpdate
from node.models.app import organisation
from node.storage import FileStorage

MAX_LOGO_BYTES = 1024 * 1024
MAX_LOGO_PIXELS = 2048 * 2048
PUBLIC_COLUMNS = (
    organisation.c.organisation_id, organisation.c.name, organisation.c.role, organisation.c.state,
    organisation.c.country, organisation.c.tax_id, organisation.c.email, organisation.c.phone,
    organisation.c.website, organisation.c.address, organisation.c.logo_url, organisation.c.remarks,
    organisation.c.created_at, organisation.c.updated_at,
)  # fmt: skip
_o = organisation.c


def _unique_fields(conn: Connection, fields: dict[str, Any], excluding: int | None = None) -> None:
    """409 naming the taken field, before the insert (the unique constraints still guard races)."""
    for name in ("email", "tax_id"):
        value = fields.get(name)
        if value is None:
            continue
        query = select(exists().where(_o[name] == value, _o.organisation_id != (excluding or -1)))
        if not conn.execute(query).scalar():
            continue
        if name == "email":
            raise AlreadyExists("An organisation with this email already exists.", field=name)
        raise AlreadyExists("An organisation with this tax id already exists.", field=name)


def _country(settings: Settings, org: OrganisationIn) -> str:
    """§3.2: the system country, except for Certifiers, which may be international."""
    if org.role == CERTIFIER:
        return org.country or settings.registry_country
    if org.country not in (None, settings.registry_country):
        raise InvalidInput(
            "Only Certifiers may be from another country; this registry's is {country}.",
            params={"country": settings.registry_country}, field="country",
        )  # fmt: skip
    return settings.registry_country


def _next_id(conn: Connection) -> int:
    while True:
        candidate = int(conn.execute(text("select nextval('app.organisation_id_seq')")).scalar_one())
        if not conn.execute(select(exists().where(_o.organisation_id == candidate))).scalar():
            return candidate


def _columns(model: OrganisationIn | OrganisationUpdate, fields: set[str]) -> dict[str, Any]:
    values = model.model_dump(include=fields)
    if values.get("website") is not None:
        values["website"] = str(values["website"])
    return values


def create_organisation(
    conn: Connection, settings: Settings, principal: Principal, new: NewOrganisation
) -> tuple[int, int]:
    """The organisation and its first Admin (ids), who gets a welcome email with a set-password link."""
    from node.identity.users import insert_user  # users belong to organisations; this one creates its first

    permissions.authorize_create_organisation(principal)
    organisation_id = insert_organisation(conn, settings, new)
    admin_id = insert_user(conn, settings, organisation_id, new.name, new.admin)
    audit.record(conn, principal, "organisation.create", organisation_id=organisation_id, target_id=organisation_id,
                 name=new.name, role=new.role, admin_user_id=admin_id, admin_email=new.admin.email)  # fmt: skip
    return organisation_id, admin_id


def insert_organisation(conn: Connection, settings: Settings, new: OrganisationIn) -> int:
    """Inserts without a caller check or first user: also used by `registry import`, which the operator runs."""
    values = _columns(new, {"name", "role", "tax_id", "email", "phone", "website", "address"})
    _unique_fields(conn, values)
    organisation_id = _next_id(conn)
    try:
        with conn.begin_nested():
            conn.execute(insert(organisation).values(organisation_id=organisation_id,
                                                     country=_country(settings, new), **values))  # fmt: skip
    except IntegrityError as exc:
        raise AlreadyExists("An organisation with this email or tax id already exists.") from exc
    return organisation_id


def name_choices(conn: Connection, *, active_only: bool = False) -> list[tuple[int, str]]:
    """(id, name) of the organisations, by name, for a form's choices: every signed-in user reads every organisation
    (reference §4.1)."""
    query = select(_o.organisation_id, _o.name).order_by(_o.name, _o.organisation_id)
    if active_only:
        query = query.where(_o.state == "active")
    return [(int(row.organisation_id), str(row.name)) for row in conn.execute(query)]


def get_organisation(conn: Connection, organisation_id: int) -> dict[str, Any]:
    row = conn.execute(select(*PUBLIC_COLUMNS).where(_o.organisation_id == organisation_id)).mappings().first()
    if row is None:
        raise NotFound("No organisation {organisation_id}.", params={"organisation_id": organisation_id})
    return dict(row)


SORTABLE = {"name": _o.name, "role": _o.role, "state": _o.state, "country": _o.country,
            "created_at": _o.created_at, "organisation_id": _o.organisation_id}  # fmt: skip
"""The columns ``GET /organisations`` sorts by (the API offers exactly these)."""


def list_organisations(
    conn: Connection, query: ListQuery, *, role: str | None = None, state: str | None = None,
    country: str | None = None,
) -> Page:  # fmt: skip
    """Every authenticated caller reads every organisation (§4.1), so there is no row filter here."""
    where = [c == v for c, v in ((_o.role, role), (_o.state, state), (_o.country, country)) if v is not None]
    return fetch_page(
        conn, select(*PUBLIC_COLUMNS), query, key=_o.organisation_id, where=where,
        sortable=SORTABLE, searchable=(_o.name, _o.email, _o.tax_id),
    )  # fmt: skip


def update_organisation(
    conn: Connection, principal: Principal, organisation_id: int, changes: OrganisationUpdate
) -> None:
    current = get_organisation(conn, organisation_id)
    permissions.authorize_update_organisation(principal, organisation_id)
    values = _columns(changes, changes.model_fields_set)
    if not values:
        return
    cleared = [f for f in CONTACT_FIELDS if f in values and values[f] is None]
    if cleared and current["role"] not in (GOVERNMENT, API):
        params = {"role": current["role"], "fields": ", ".join(cleared)}
        raise InvalidInput("A {role} organisation must keep its {fields}.", params=params, field=cleared[0])
    _unique_fields(conn, values, excluding=organisation_id)
    try:
        with conn.begin_nested():
            conn.execute(update(organisation).where(_o.organisation_id == organisation_id)
                         .values(**values, updated_at=func.now()))  # fmt: skip
    except IntegrityError as exc:
        raise AlreadyExists("An organisation with this email or tax id already exists.") from exc
    audit.record(conn, principal, "organisation.update", organisation_id=organisation_id, target_id=organisation_id,
                 changes=values)  # fmt: skip


def store_logo(
    conn: Connection, storage: FileStorage, principal: Principal, organisation_id: int, content: bytes
) -> str:
    """Decodes the logo (PNG or JPEG; never SVG, which can carry script), stores its re-encoded pixels, links it.

    What is stored is what Pillow wrote, never the bytes sent: a file that only starts like a PNG is refused, and
    trailing data and metadata are dropped (ADR 0011)."""
    get_organisation(conn, organisation_id)
    permissions.authorize_update_organisation(principal, organisation_id)
    if len(content) > MAX_LOGO_BYTES:
        raise PayloadTooLarge("A logo may be at most {limit} KiB.", params={"limit": MAX_LOGO_BYTES // 1024})
    image = images.reencode(content, max_pixels=MAX_LOGO_PIXELS)
    key = f"logos/{organisation_id}/{hashlib.sha256(image.content).hexdigest()[:32]}.{image.extension}"
    url = storage.put(key, image.content, image.content_type)
    conn.execute(update(organisation).where(_o.organisation_id == organisation_id)
                 .values(logo_url=url, updated_at=datetime.now(UTC)))  # fmt: skip
    audit.record(conn, principal, "organisation.logo", organisation_id=organisation_id, target_id=organisation_id,
                 logo_url=url)  # fmt: skip
    return url

"""Registering a programme (reference §5.1): every rule checked, then the intent, then the chain, then the details.

The credit-relevant fields go on chain with the SHA-256 of the off-chain record (``detailsHash``); the record goes
to ``app.programme_detail`` in the transaction that completes the write, once the indexer has applied the chain
event, so the answer, and the next read, show the programme whole.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from node import calculator
from node.chain.types import ProgrammeInput, Sector
from node.errors import AlreadyExists, InvalidInput
from node.identity import audit
from node.identity.permissions import ACTIVE, DEVELOPER, Principal
from node.models.app import organisation, programme_change, programme_detail
from node.models.chain import programme
from node.programmes import changes, notifications
from node.programmes.canonical import SCHEMA, details_hash, normalised
from node.programmes.changes import ProgrammeContext
from node.programmes.permissions import authorize_create, authorize_own_proponent
from node.programmes.queries import get_programme
from node.programmes.schemas import NewProgramme

CREATE = "create"


def jsonable(value: dict[str, Any]) -> dict[str, Any]:
    """A programme view as stored on the intent (the answer a retry gets): datetimes as ISO 8601 text."""
    plain: dict[str, Any] = json.loads(json.dumps(value, default=lambda v: v.isoformat() if isinstance(v, datetime)
                                                  else str(v)))  # fmt: skip
    return plain


def programme_link(context: ProgrammeContext, programme_id: int) -> str:
    return f"{context.settings.public_url.rstrip('/')}/programmes/{programme_id}"


def create(context: ProgrammeContext, principal: Principal, body: NewProgramme, key: str | None) -> dict[str, Any]:
    """Registers the programme and returns it as the API shows it (the first answer again for a retried key)."""
    authorize_create(principal)
    key = changes.clean_key(key)
    digest = changes.request_hash(CREATE, None, body.canonical_request())
    with context.engine.connect() as conn:
        existing = changes.find(conn, principal, CREATE, key)
        if existing is not None:
            changes.check_same_request(existing, digest)
            change_id = int(existing.change_id)
        else:
            payload = _prepare(conn, context, principal, body)
    if existing is None:
        change_id = changes.record(context.engine, principal, CREATE, None, key, digest, payload)
    result = changes.run(context.engine, change_id, partial(complete, context))
    view: dict[str, Any] = result["programme"]
    return view


def _proponents(conn: Connection, principal: Principal, body: NewProgramme) -> list[dict[str, Any]]:
    o = organisation.c
    tax_ids = [p.tax_id for p in body.proponents]
    found = {row.tax_id: row for row in conn.execute(select(organisation).where(o.tax_id.in_(tax_ids)))}
    owners = []
    for position, proponent in enumerate(body.proponents):
        row = found.get(proponent.tax_id)
        if row is None:
            raise InvalidInput("No organisation has the tax id '{tax_id}'.", params={"tax_id": proponent.tax_id},
                               field=f"proponents.{position}")  # fmt: skip
        if row.role != DEVELOPER:
            raise InvalidInput("{name} is not a programme developer organisation; only developers own programmes.",
                               params={"name": row.name}, field=f"proponents.{position}")  # fmt: skip
        if row.state != ACTIVE:
            raise InvalidInput("{name} is suspended and cannot own a new programme.", params={"name": row.name},
                               field=f"proponents.{position}")  # fmt: skip
        owners.append({"tax_id": row.tax_id, "organisation_id": row.organisation_id, "name": row.name,
                       "percentage": str(proponent.percentage), "share_ppm": proponent.share_ppm})  # fmt: skip
    authorize_own_proponent(principal, [owner["organisation_id"] for owner in owners])
    return owners


def _check_external_id(conn: Connection, external_id: str) -> None:
    taken = conn.execute(select(programme.c.programme_id).where(programme.c.external_id == external_id)).scalar()
    if taken is not None:
        raise AlreadyExists("Programme {programme_id} already has the external id '{external_id}'.",
                            params={"programme_id": taken, "external_id": external_id},
                            field="external_id")  # fmt: skip
    c = programme_change.c
    pending = conn.execute(select(c.change_id).where(
        c.operation == CREATE, c.status == "pending", c.payload["chain"]["external_id"].astext == external_id,
    )).first()  # fmt: skip
    if pending is not None:
        raise AlreadyExists("A programme with the external id '{external_id}' is being registered.",
                            params={"external_id": external_id}, field="external_id")  # fmt: skip


def _prepare(conn: Connection, context: ProgrammeContext, principal: Principal, body: NewProgramme) -> dict[str, Any]:
    """Every check that needs the database, and what the write will send and store."""
    owners = _proponents(conn, principal, body)
    _check_external_id(conn, body.external_id)
    start, end = int(body.start_time.timestamp()), int(body.end_time.timestamp())
    computed = None
    if body.calculator is not None:
        estimate = calculator.estimate(conn, body.calculator, start_time=start, end_time=end)
        computed = {
            "methodology": estimate.methodology, "inputs": body.calculator.model_dump(mode="json"),
            "constants_version": estimate.constants_version, "constants": estimate.constants,
            "credits": str(estimate.credits),
        }  # fmt: skip
        if body.credit_estimate is None and estimate.credits_whole < 1:
            raise InvalidInput("The calculator estimates {credits} credits: not enough for a programme (at least 1 "
                               "once rounded).", params={"credits": estimate.credits}, field="calculator")  # fmt: skip
    credit_estimate = body.credit_estimate if body.credit_estimate is not None else estimate.credits_whole
    record = normalised({
        "schema": SCHEMA,
        "external_id": body.external_id,
        "title": body.title,
        "type_of_mitigation": body.type_of_mitigation.value,
        "proponents": [{k: owner[k] for k in ("tax_id", "organisation_id", "percentage")} for owner in owners],
        "properties": body.properties.model_dump(mode="json", exclude_none=True),
        # As text: JSON verifiers in JavaScript read integers past 2^53 as doubles, and the hash must be the same.
        "credit_estimate": {"credits": str(credit_estimate), "source": "given" if body.credit_estimate else
                            "calculator"},
        "calculator": computed,
        "materials": [],
    })  # fmt: skip
    chain = {
        "external_id": body.external_id, "sector": body.sector.on_chain.value, "sectoral_scope": body.sectoral_scope,
        "country": context.settings.registry_country, "credit_unit": body.credit_unit, "start_time": start,
        "end_time": end, "credit_estimate": credit_estimate,
        "owners": [owner["organisation_id"] for owner in owners],
        "shares_ppm": [owner["share_ppm"] for owner in owners],
        "regions": body.properties.geographical_location, "details_hash": details_hash(record).hex(),
    }  # fmt: skip
    return {"chain": chain, "details": record, "title": body.title}


def _chain_input(chain: dict[str, Any]) -> ProgrammeInput:
    return ProgrammeInput(
        external_id=chain["external_id"], sector=Sector(chain["sector"]), sectoral_scope=chain["sectoral_scope"],
        country=chain["country"], credit_unit=chain["credit_unit"], start_time=chain["start_time"],
        end_time=chain["end_time"], credit_estimate=chain["credit_estimate"], owners=chain["owners"],
        shares_ppm=chain["shares_ppm"], regions=chain["regions"], details_hash=bytes.fromhex(chain["details_hash"]),
    )  # fmt: skip


def complete(context: ProgrammeContext, conn: Connection, row: Row[Any]) -> dict[str, Any]:
    """The intent's step: the chain write (or finding it applied), then the details, audit and emails."""
    payload = row.payload
    ref = bytes(row.request_ref)
    chain_input = _chain_input(payload["chain"])
    applied = changes.send(context, conn, lambda: context.registry.create_programme(chain_input, ref), ref,
                           "ProgrammeCreated")  # fmt: skip
    programme_id = applied.programme_id
    assert programme_id is not None
    conn.execute(insert(programme_detail).values(
        programme_id=programme_id, title=payload["title"], details=payload["details"],
        details_hash=bytes.fromhex(payload["chain"]["details_hash"]),
    ))  # fmt: skip
    conn.execute(update(programme_change).where(programme_change.c.change_id == row.change_id)
                 .values(programme_id=programme_id))  # fmt: skip
    actor = Principal(**row.requested_by) if row.requested_by else None
    audit.record(conn, actor, "programme.create", organisation_id=actor.organisation_id if actor else None,
                 target_id=programme_id, external_id=payload["chain"]["external_id"],
                 tx_hash=applied.tx_hash)  # fmt: skip
    notifications.programme_created(
        conn, context.settings, programme_id=programme_id, title=payload["title"],
        external_id=payload["chain"]["external_id"], owner_ids=payload["chain"]["owners"],
        credit_estimate=payload["chain"]["credit_estimate"], link=programme_link(context, programme_id),
    )  # fmt: skip
    view = get_programme(conn, None, programme_id)
    return {"programme": jsonable(view), "tx_hash": applied.tx_hash, "block_number": applied.block_number,
            "at": conn.execute(select(func.now())).scalar_one().isoformat()}  # fmt: skip

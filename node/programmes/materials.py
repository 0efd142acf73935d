"""Programme materials (design documents, monitoring and verification reports...) and the re-anchored details.

A material is stored through the node's file storage under a name derived from its SHA-256, and listed in the
programme's off-chain record with that hash; the record's new SHA-256 is then anchored on chain
(``updateProgrammeDetails``), so a document shown later can be proven to be the one registered, byte for byte.
Each change builds on the revision before it, so a programme's details change one at a time
(``uq_programme_change_details_pending``); a concurrent upload is told to try again.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Row, select, update

from node import images, intents
from node.chain.types import ProgrammeStage
from node.errors import InvalidInput, InvalidState, NotFound, PayloadTooLarge, UnsupportedMediaType
from node.identity.permissions import Principal
from node.models.app import programme_change, programme_detail
from node.programmes import changes
from node.programmes.canonical import details_hash, normalised
from node.programmes.changes import Applied, ProgrammeContext
from node.programmes.permissions import authorize_details_change
from node.programmes.queries import get_programme
from node.programmes.schemas import single_line
from node.storage import FileStorage

DETAILS = "details"
MAX_MATERIALS = 200
MAX_IMAGE_PIXELS = 25_000_000
"""A scanned A4 page at 600 dpi is 35 MP in colour; 25 MP keeps each re-encode to about 100 MB of memory."""
MAX_FILE_NAME = 200


class MaterialKind(StrEnum):
    """Document types of the reference's ``DocType`` (LIB), plus ``Other``."""

    DESIGN_DOCUMENT = "DesignDocument"
    METHODOLOGY_DOCUMENT = "MethodologyDocument"
    MONITORING_REPORT = "MonitoringReport"
    VERIFICATION_REPORT = "VerificationReport"
    NO_OBJECTION_LETTER = "NoObjectionLetter"
    AUTHORISATION_LETTER = "AuthorisationLetter"
    ANNUAL_REPORT = "AnnualReport"
    ENVIRONMENTAL_IMPACT_ASSESSMENT = "EnvironmentalImpactAssessment"
    OTHER = "Other"


_OFFICE = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def identify(file_name: str, content: bytes) -> tuple[bytes, str, str]:
    """(bytes to store, extension, content type) by what the bytes are, not what the name or client claims.

    PDF, Office Open XML (docx, pptx, xlsx, zip containers named so) and UTF-8 CSV are stored as sent; PNG and
    JPEG are re-encoded (no metadata, no trailing payload). Anything else is refused.
    """
    extension = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    if content.startswith(b"%PDF-"):
        return content, "pdf", "application/pdf"
    if content.startswith(b"PK\x03\x04") and extension in _OFFICE:
        return content, extension, _OFFICE[extension]
    if content.startswith((b"\x89PNG", b"\xff\xd8\xff")):
        image = images.reencode(content, max_pixels=MAX_IMAGE_PIXELS)
        return image.content, image.extension, image.content_type
    if extension == "csv":
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UnsupportedMediaType("A CSV material must be UTF-8 text.") from exc
        if "\0" in text:
            raise UnsupportedMediaType("A CSV material cannot contain NUL characters.")
        return content, "csv", "text/csv; charset=utf-8"
    raise UnsupportedMediaType("Materials are PDF, DOCX, PPTX, XLSX, CSV, PNG or JPEG files.")


def add_material(
    context: ProgrammeContext, storage: FileStorage, principal: Principal, programme_id: int, *,
    kind: MaterialKind, title: str, file_name: str, content: bytes, key: str | None,
) -> dict[str, Any]:  # fmt: skip
    """Stores the file, lists it in the programme's details and anchors the new details hash on chain."""
    from node.programmes import lifecycle  # lifecycle dispatches completions here: imported late, no cycle

    if len(content) > context.settings.max_upload_bytes:
        raise PayloadTooLarge("A material may be at most {limit} MiB.",
                              params={"limit": context.settings.max_upload_bytes // 2**20})  # fmt: skip
    if not content:
        raise InvalidInput("The file is empty.", field="file")
    # single_line's two refusals, each its own whole sentence here (a blank value, or one with a control character)
    try:
        title = single_line(title)
    except ValueError as exc:
        if not title.strip():
            raise InvalidInput("The title must not be blank.", field="title") from exc
        raise InvalidInput("The title must be one line with no control characters.", field="title") from exc
    try:
        file_name = single_line(file_name)[:MAX_FILE_NAME]
    except ValueError as exc:
        if not file_name.strip():
            raise InvalidInput("The file name must not be blank.", field="file") from exc
        raise InvalidInput("The file name must be one line with no control characters.", field="file") from exc
    key = changes.clean_key(key)
    sha256 = hashlib.sha256(content).hexdigest()
    request = {"kind": kind.value, "title": title, "file_name": file_name, "sha256": sha256}
    digest = changes.request_hash(DETAILS, programme_id, request)
    with context.engine.connect() as conn:
        existing = changes.find(conn, principal, DETAILS, key)
        if existing is not None:
            changes.check_same_request(existing, digest)
            change_id = int(existing.change_id)
        else:
            get_programme(conn, principal, programme_id)  # 404 when the caller may not read it
            current = _details_row(conn, programme_id)
            creator = submitter_of(conn, programme_id)
            owners = [p["organisation_id"] for p in current.details["proponents"]]
            authorize_details_change(principal, owners, created_by=creator)
            state = lifecycle.on_chain(context, programme_id)
            if state.stage == ProgrammeStage.REJECTED:
                raise InvalidState("Programme {programme_id} was rejected; its details can no longer change.",
                                   params={"programme_id": programme_id})  # fmt: skip
            materials = list(current.details.get("materials", []))
            if len(materials) >= MAX_MATERIALS:
                raise InvalidState("A programme has at most {limit} materials.", params={"limit": MAX_MATERIALS})
            stored, extension, content_type = identify(file_name, content)
            stored_sha256 = hashlib.sha256(stored).hexdigest()  # what is listed and served (images are re-encoded)
            if any(m["sha256"] == stored_sha256 for m in materials):
                raise InvalidState("This file is already among the programme's materials.", field="file")
            url = storage.put(f"programmes/{programme_id}/{stored_sha256[:40]}.{extension}", stored, content_type)
            materials.append({
                "kind": kind.value, "title": title, "file_name": file_name, "url": url, "size": len(stored),
                "sha256": stored_sha256, "content_type": content_type,
                "added_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
            })  # fmt: skip
            record = normalised(current.details | {"materials": materials})
            payload = {"details": record, "details_hash": details_hash(record).hex(), "base_revision": current.revision,
                       "remarks": f"{kind.value}: {title}"}  # fmt: skip
    if existing is None:
        change_id = changes.record(context.engine, principal, DETAILS, programme_id, key, digest, payload)
    result = changes.run(context.engine, change_id, lambda conn, row: lifecycle.complete(context, conn, row))
    view: dict[str, Any] = result["programme"]
    return view


def _details_row(conn: Connection, programme_id: int, *, lock: bool = False) -> Row[Any]:
    query = select(programme_detail).where(programme_detail.c.programme_id == programme_id)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound("No programme {programme_id} with registered details.", params={"programme_id": programme_id})
    return row


def anchor(context: ProgrammeContext, conn: Connection, row: Row[Any]) -> Applied:
    """The step of a details change: anchor the new hash, then store the revision it names."""
    pid, ref, payload = int(row.programme_id), bytes(row.request_ref), row.payload
    new_hash = bytes.fromhex(payload["details_hash"])
    current = _details_row(conn, pid, lock=True)
    if current.revision != payload["base_revision"]:
        # Another change completed between this one's checks and its recording (they run one at a time, but the
        # checks come first): nothing is on chain yet, so this one is abandoned and the caller asked to retry.
        raise intents.Refused(InvalidState(
            "Programme {programme_id}'s details changed while this material was being added; add it again.",
            params={"programme_id": pid},
        ))  # fmt: skip
    applied = changes.send(context, conn, lambda: context.registry.update_programme_details(pid, new_hash, ref), ref,
                           "ProgrammeDetailsUpdated")  # fmt: skip
    conn.execute(update(programme_detail).where(programme_detail.c.programme_id == pid).values(
        details=payload["details"], details_hash=new_hash, revision=current.revision + 1, updated_at=datetime.now(UTC),
    ))  # fmt: skip
    return applied


def submitter_of(conn: Connection, programme_id: int) -> int | None:
    """The organisation that submitted the programme: an API organisation's Admins add materials only to those."""
    creator: int | None = conn.execute(select(programme_change.c.requested_by["organisation_id"].as_integer()).where(
        programme_change.c.programme_id == programme_id, programme_change.c.operation == "create",
    )).scalar()  # fmt: skip
    return creator

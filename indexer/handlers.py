"""One handler per registry event: a pure function of (batch state, event) that changes projection rows.

Handlers do no RPC and never commit; ``HANDLERS`` maps an event name to its handler. Events without a handler
(OpenZeppelin's role, initialisation, upgrade and pause events, and ``OmgeRateSet``: the current rate is the
contract's ``omgeRate()`` view, its history these raw events) are kept in the raw event log only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from indexer.decoding import Event
from indexer.state import BatchState
from node.chain.types import BlockState, ProgrammeStage, RetirementType, Sector

Handler = Callable[[BatchState, Event], None]

STAGE = {s: s.name.lower() for s in ProgrammeStage}
SECTOR = {s: s.name.lower() for s in Sector}
RETIREMENT_TYPE = {t: t.name.lower() for t in RetirementType}
BLOCK_STATE = {s: s.name.lower() for s in BlockState}


def _text(hex_value: str) -> str:
    return bytes.fromhex(hex_value[2:]).rstrip(b"\0").decode("ascii")


def _bytes(hex_value: str | None) -> bytes | None:
    """A ``bytes32`` as decoded (0x-hex, ``decoding._plain``) back to bytes for a ``LargeBinary`` column."""
    return bytes.fromhex(hex_value[2:]) if hex_value is not None else None


def _time(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def _event_time(event: Event) -> datetime:
    """The block time the runner attaches to every event; now for an event built without one (unit tests)."""
    return event.block_time or datetime.now(UTC)


def _ranges(moves: list[dict[str, Any]]) -> list[dict[str, int]]:
    return [{"start": m["start"], "end": m["end"], "source_end": m["sourceEnd"]} for m in moves]


def on_programme_created(state: BatchState, event: Event) -> None:
    p = event.args["programme"]
    pid = event.args["programmeId"]
    state.add_programme({
        "programme_id": pid, "external_id": p["externalId"], "stage": STAGE[ProgrammeStage.AWAITING_AUTHORIZATION],
        "sector": SECTOR[Sector(p["sector"])], "sectoral_scope": p["sectoralScope"], "country": _text(p["country"]),
        "credit_unit": _text(p["creditUnit"]), "start_time": _time(p["startTime"]), "end_time": _time(p["endTime"]),
        "credit_estimate": p["creditEstimate"], "credit_issued": 0, "credit_retired": 0, "serial_start": None,
        "serial_end": None, "regions": list(p["regions"]), "details_hash": _bytes(p.get("detailsHash")),
        "created_block": event.block_number, "created_at": _event_time(event),
        "authorised_block": None, "updated_block": event.block_number,
    })  # fmt: skip
    state.owners += [
        {"programme_id": pid, "position": i, "account_id": owner, "share_ppm": share}
        for i, (owner, share) in enumerate(zip(p["owners"], p["sharesPpm"], strict=True))
    ]
    state.locations += [
        {"programme_id": pid, "position": i, "region_name": name, "status": "pending"}
        for i, name in enumerate(p["regions"])
    ]


def on_programme_authorised(state: BatchState, event: Event) -> None:
    row = state.programme(event.args["programmeId"])
    row.update(stage=STAGE[ProgrammeStage.AUTHORISED], serial_start=event.args["serialStart"],
               serial_end=event.args["serialEnd"], authorised_block=event.block_number,
               updated_block=event.block_number)  # fmt: skip


def on_programme_details_updated(state: BatchState, event: Event) -> None:
    row = state.programme(event.args["programmeId"])
    row.update(details_hash=_bytes(event.args["detailsHash"]), updated_block=event.block_number)


def on_programme_rejected(state: BatchState, event: Event) -> None:
    row = state.programme(event.args["programmeId"])
    row.update(stage=STAGE[ProgrammeStage.REJECTED], updated_block=event.block_number)


def on_credits_issued(state: BatchState, event: Event) -> None:
    pid = event.args["programmeId"]
    programme = state.programme(pid)
    programme.update(credit_issued=event.args["totalIssued"], updated_block=event.block_number)
    for b in event.args["blocks"]:
        size = b["end"] - b["start"] + 1
        holding = state.holding(pid, b["holder"], event.block_number)
        holding["balance"] += size
        holding["issued"] += size
        state.add_block({"block_end": b["end"], "block_start": b["start"], "programme_id": pid, "holder": b["holder"],
                         "state": BLOCK_STATE[BlockState.HELD], "retirement_id": None,
                         "updated_block": event.block_number})  # fmt: skip
    _merge(state, event, event.args.get("merges", []))
    state.issuances.append({
        "tx_hash": event.tx_hash, "log_index": event.log_index, "block_number": event.block_number,
        "programme_id": pid, "amount": event.args["amount"], "total_issued": event.args["totalIssued"],
        "request_ref": event.request_ref, "blocks": event.args["blocks"],
    })  # fmt: skip


def _move(state: BatchState, event: Event, pid: int, moves: list[dict[str, Any]], holder: int, block_state: str,
          retirement_id: int | None) -> None:  # fmt: skip
    """Applies a contract's block moves: whole blocks change holder in place, split ones are cut from the front."""
    for move in moves:
        source = state.block(move["sourceEnd"])
        if move["end"] == move["sourceEnd"]:
            source.update(holder=holder, state=block_state, retirement_id=retirement_id,
                          updated_block=event.block_number)  # fmt: skip
        else:
            source.update(block_start=move["end"] + 1, updated_block=event.block_number)
            state.add_block({"block_end": move["end"], "block_start": move["start"], "programme_id": pid,
                             "holder": holder, "state": block_state, "retirement_id": retirement_id,
                             "updated_block": event.block_number})  # fmt: skip


def _merge(state: BatchState, event: Event, merges: list[dict[str, Any]]) -> None:
    """Applies a contract's merges in order (ADR 0015): block ``end`` now starts at ``start``, and the block it
    absorbed, ``removedEnd``, is gone. Events from before 1.2.0 have none."""
    for merge in merges:
        state.block(merge["end"]).update(block_start=merge["start"], updated_block=event.block_number)
        state.delete_block(merge["removedEnd"])


def on_credits_transferred(state: BatchState, event: Event) -> None:
    args = event.args
    pid, amount = args["programmeId"], args["amount"]
    _move(state, event, pid, args["moves"], args["to"], BLOCK_STATE[BlockState.HELD], None)
    _merge(state, event, args.get("merges", []))
    sender = state.holding(pid, args["from"], event.block_number)
    sender["balance"] -= amount
    sender["transferred"] += amount
    receiver = state.holding(pid, args["to"], event.block_number)
    receiver["balance"] += amount
    receiver["received"] += amount
    state.transfers.append({
        "tx_hash": event.tx_hash, "log_index": event.log_index, "block_number": event.block_number,
        "programme_id": pid, "from_account": args["from"], "to_account": args["to"], "amount": amount,
        "request_ref": event.request_ref, "ranges": _ranges(args["moves"]),
    })  # fmt: skip


def on_credits_retired(state: BatchState, event: Event) -> None:
    args, credits = event.args, event.args["credits"]
    pid, rid, amount = args["programmeId"], args["retirementId"], credits["amount"]
    kind = RetirementType(args["details"]["retirementType"])
    main_state = BlockState.RETIRED_INTERNATIONAL if kind == RetirementType.CROSS_BORDER else BlockState.RETIRED_LOCAL
    government = credits["governmentAccount"]
    _move(state, event, pid, credits["moves"], government, BLOCK_STATE[main_state], rid)
    _move(state, event, pid, credits["omgeMoves"], government, BLOCK_STATE[BlockState.RETIRED_OMGE], rid)
    holder = state.holding(pid, args["from"], event.block_number)
    holder["balance"] -= amount
    holder["retired"] += amount
    programme = state.programme(pid)
    programme["credit_retired"] += amount
    programme["updated_block"] = event.block_number
    country = args["details"]["country"]
    state.retirements.append({
        "retirement_id": rid, "tx_hash": event.tx_hash, "log_index": event.log_index,
        "block_number": event.block_number, "programme_id": pid, "from_account": args["from"],
        "retirement_type": RETIREMENT_TYPE[kind], "country": _text(country) or None,
        "beneficiary": args["details"]["beneficiary"] or None, "government_account": government, "amount": amount,
        "omge_amount": credits["omgeAmount"], "request_ref": event.request_ref,
        "ranges": _ranges(credits["moves"]), "omge_ranges": _ranges(credits["omgeMoves"]),
        "block_time": _event_time(event),
    })  # fmt: skip


def on_certification(certified: bool) -> Handler:
    def handle(state: BatchState, event: Event) -> None:
        state.programme(event.args["programmeId"])  # must exist
        row = state.certifier(event.args["programmeId"], event.args["certifier"])
        row.update(certified=certified, updated_block=event.block_number)

    return handle


def on_account_freeze(frozen: bool) -> Handler:
    def handle(state: BatchState, event: Event) -> None:
        state.account(event.args["account"]).update(frozen=frozen, updated_block=event.block_number)

    return handle


def on_transfer_pause_set(state: BatchState, event: Event) -> None:
    state.registry_row().update(paused=event.args["paused"], updated_block=event.block_number)


def on_government_account_set(state: BatchState, event: Event) -> None:
    state.registry_row().update(government_account=event.args["account"], updated_block=event.block_number)


HANDLERS: dict[str, Handler] = {
    "ProgrammeCreated": on_programme_created,
    "ProgrammeAuthorised": on_programme_authorised,
    "ProgrammeRejected": on_programme_rejected,
    "ProgrammeDetailsUpdated": on_programme_details_updated,
    "CreditsIssued": on_credits_issued,
    "CreditsTransferred": on_credits_transferred,
    "CreditsRetired": on_credits_retired,
    "ProgrammeCertified": on_certification(True),
    "CertificationRevoked": on_certification(False),
    "AccountFrozen": on_account_freeze(True),
    "AccountUnfrozen": on_account_freeze(False),
    "TransferPauseSet": on_transfer_pause_set,
    "GovernmentAccountSet": on_government_account_set,
}

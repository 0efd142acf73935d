"""The public serial-number lookup: which block holds a credit, who holds it or how it was retired, and the chain
transactions that brought it there (issue 12, reference §7.1).

The input is a serial number as ``node.domain.serials`` renders them: a block's own serial number, or any range
inside one block (a single credit is ``...-0-<n>-<n>``). The credit looked up is the range's first serial; the
whole range must lie in the block that holds it, since a range across blocks has no single answer.

Three queries, each on an index: the block (``ix_serial_block_start``: the last block starting at or before the
serial, which is the only candidate because blocks never overlap), the transactions whose ranges cover the credit
(``ix_issuance_programme``, ``ix_transfer_programme``, the retirement's primary key), and the organisations' names.
Only authorised programmes are public (``visibility.PUBLIC``); any other answers as unknown, never as forbidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, select, text

from node.domain.serials import InvalidSerialNumber, SerialNumber, parse, serial_number, vintage_year
from node.errors import InvalidInput, NotFound
from node.models.app import organisation, programme_detail
from node.models.chain import programme, serial_block
from node.programmes.permissions import visible_programmes
from node.programmes.queries import programme_serial
from node.registry_public.visibility import PUBLIC

HELD = "held"
RETIRED_STATES = ("retired_international", "retired_local", "retired_omge")
MAX_LENGTH = 200
"""Longer input is not a serial number (20-digit serials and a long credit unit stay far below)."""

MALFORMED = "malformed"
SPANS_BLOCKS = "spans_blocks"
"""``reason`` of the ``InvalidInput`` raised, so a page can show its own wording of each."""

_b, _p, _d = serial_block.c, programme.c, programme_detail.c


@dataclass(frozen=True)
class Transaction:
    """One chain transaction that moved the credit: its issuance, a transfer, or its retirement."""

    kind: str  # issued | transferred | retired
    tx_hash: str
    log_index: int
    block_number: int
    block_time: datetime | None
    credits: int
    """Credits the transaction moved in all (the looked-up one among them)."""
    from_account: int | None
    from_name: str | None
    to_account: int | None
    to_name: str | None


@dataclass(frozen=True)
class Retirement:
    retirement_id: int
    retirement_type: str  # cross_border | legal_action | other
    country: str | None
    """The receiving country of a cross-border retirement (ISO 3166 alpha-2)."""
    beneficiary: str | None
    retired_by: int
    retired_by_name: str | None
    block_time: datetime | None
    tx_hash: str
    block_number: int


@dataclass(frozen=True)
class SerialLookup:
    query: SerialNumber
    """The serial number as given (parsed)."""
    programme_id: int
    programme_title: str | None
    programme_serial: str | None
    block_serial: str
    block_start: int
    block_end: int
    state: str  # held | retired_international | retired_local | retired_omge
    holder: int | None
    holder_name: str | None
    """The holder of a held block; None once retired (the Government's retirement account holds it)."""
    retirement: Retirement | None
    transactions: list[Transaction]
    """Oldest first: the issuance, every transfer, the retirement; the last one put the credit in its state."""

    @property
    def credits(self) -> int:
        return self.block_end - self.block_start + 1

    @property
    def latest(self) -> Transaction | None:
        return self.transactions[-1] if self.transactions else None


def parse_query(text_: str) -> SerialNumber:
    """The serial number in ``text_`` (surrounding spaces allowed), else ``InvalidInput`` naming the field ``q``."""
    cleaned = text_.strip().upper()
    try:
        serial = parse(cleaned) if cleaned and len(cleaned) <= MAX_LENGTH else None
    except InvalidSerialNumber:
        serial = None
    if serial is None:
        raise InvalidInput(
            "Enter a serial number like NG-ITMO-1-001-2023-0-1-1000, or one credit of it like "
            "NG-ITMO-1-001-2023-0-5-5.", field="q", reason=MALFORMED,
        )  # fmt: skip
    return serial


def _block(conn: Connection, serial: SerialNumber) -> Any:
    """The block holding ``serial.start`` with its programme, if the public may read that programme."""
    candidate = (
        select(serial_block).where(_b.block_start <= serial.start).order_by(_b.block_start.desc()).limit(1)
    ).subquery("candidate")  # the index gives the one block that can hold it; no scan over earlier ones
    c = candidate.c
    query = (
        select(c.block_start, c.block_end, c.holder, c.state, c.retirement_id, _p.programme_id, _p.country,
               _p.credit_unit, _p.sectoral_scope, _p.start_time, _p.serial_start, _p.serial_end, _d.title)
        .select_from(candidate.join(programme, _p.programme_id == c.programme_id))
        .outerjoin(programme_detail, _d.programme_id == _p.programme_id)
        .where(and_(c.block_end >= serial.start, visible_programmes(PUBLIC)))
    )  # fmt: skip
    return conn.execute(query).first()


def _matches(row: Any, serial: SerialNumber) -> bool:
    """Whether the serial number's other parts name this credit's programme (a serial is only valid whole)."""
    return (row.programme_id, row.country, row.credit_unit, row.sectoral_scope) == (
        serial.programme_id, serial.country, serial.credit_unit, serial.sectoral_scope,
    ) and vintage_year(int(row.start_time.timestamp())) == serial.year  # fmt: skip


_TRANSACTIONS = text("""
select 'issued' as kind, i.tx_hash, i.log_index, i.block_number, e.block_time, i.amount as credits,
       null::bigint as from_account, (b ->> 'holder')::bigint as to_account
from chain.issuance i
cross join lateral jsonb_array_elements(i.blocks) b
left join chain.event e on e.tx_hash = i.tx_hash and e.log_index = i.log_index
where i.programme_id = :programme_id
  and (b ->> 'start')::numeric <= :serial and (b ->> 'end')::numeric >= :serial
union all
select 'transferred', t.tx_hash, t.log_index, t.block_number, e.block_time, t.amount, t.from_account, t.to_account
from chain.transfer t
left join chain.event e on e.tx_hash = t.tx_hash and e.log_index = t.log_index
where t.programme_id = :programme_id
  and exists (select 1 from jsonb_array_elements(t.ranges) r
              where (r ->> 'start')::numeric <= :serial and (r ->> 'end')::numeric >= :serial)
union all
select 'retired', r.tx_hash, r.log_index, r.block_number, r.block_time, r.amount, r.from_account,
       r.government_account
from chain.retirement r
where r.retirement_id = :retirement_id
order by block_number, log_index
""")


def _names(conn: Connection, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    o = organisation.c
    return {row.organisation_id: row.name
            for row in conn.execute(select(o.organisation_id, o.name).where(o.organisation_id.in_(ids)))}  # fmt: skip


def _hex(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def lookup(conn: Connection, query: str) -> SerialLookup:
    """The public answer for a serial number: ``InvalidInput`` when it is not one, ``NotFound`` when no public
    credit has it (unknown, not yet issued, or of a programme that is not authorised)."""
    serial = parse_query(query)
    row = _block(conn, serial)
    if row is None or not _matches(row, serial):
        raise NotFound(
            "No issued credit of an authorised programme has the serial number {serial}.",
            params={"serial": str(serial)},
            field="q",
        )
    if serial.end > row.block_end:
        raise InvalidInput(
            "These serial numbers span more than one block: look up one credit or one block's serial number.",
            field="q", reason=SPANS_BLOCKS,
        )  # fmt: skip
    retirement_id = row.retirement_id if row.state in RETIRED_STATES else None
    found = conn.execute(_TRANSACTIONS, {"programme_id": row.programme_id, "serial": serial.start,
                                         "retirement_id": retirement_id}).all()  # fmt: skip
    retirement_row = None
    if retirement_id is not None:
        retirement_row = conn.execute(
            text("select retirement_id, retirement_type, country, beneficiary, from_account, block_time, tx_hash, "
                 "block_number from chain.retirement where retirement_id = :r"), {"r": retirement_id},
        ).first()  # fmt: skip
    ids = {a for t in found for a in (t.from_account, t.to_account) if a is not None} | {row.holder}
    names = _names(conn, ids)
    transactions = [
        Transaction(kind=t.kind, tx_hash=_hex(t.tx_hash), log_index=t.log_index, block_number=t.block_number,
                    block_time=t.block_time, credits=int(t.credits), from_account=t.from_account,
                    from_name=names.get(t.from_account) if t.from_account is not None else None,
                    to_account=t.to_account, to_name=names.get(t.to_account) if t.to_account is not None else None)
        for t in found
    ]  # fmt: skip
    retirement = None
    if retirement_row is not None:
        r = retirement_row
        retirement = Retirement(retirement_id=r.retirement_id, retirement_type=r.retirement_type, country=r.country,
                                beneficiary=r.beneficiary, retired_by=r.from_account,
                                retired_by_name=names.get(r.from_account), block_time=r.block_time,
                                tx_hash=_hex(r.tx_hash), block_number=r.block_number)  # fmt: skip
    held = row.state == HELD
    block = serial_number(country=row.country, credit_unit=row.credit_unit, sectoral_scope=row.sectoral_scope,
                          programme_id=row.programme_id, start_time=int(row.start_time.timestamp()),
                          start=row.block_start, end=row.block_end)  # fmt: skip
    return SerialLookup(
        query=serial, programme_id=row.programme_id, programme_title=row.title,
        programme_serial=programme_serial(row), block_serial=str(block), block_start=row.block_start,
        block_end=row.block_end, state=row.state, holder=row.holder if held else None,
        holder_name=names.get(row.holder) if held else None, retirement=retirement, transactions=transactions,
    )  # fmt: skip

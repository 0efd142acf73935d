"""The three exports: which statement, how its rows are shaped, and the columns.

The statements and the shaping are the lists' own (see :mod:`node.exports`), so a CSV row shows what the list item
shows; nested values are flattened: a programme's owners become parallel ``;``-separated columns (ids, names, tax
ids, percentages), a transfer's or retirement's transaction hashes one ``;``-separated column. A programme's
off-chain ``details`` document is left out (it is a nested document, not a cell); ``details_hash`` identifies it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Row

from node.credits import retirements, transfers
from node.credits.retirements import RetirementFilters
from node.credits.transfers import TransferFilters
from node.exports.csv_stream import Column, RowBatches, Shape, each, field
from node.identity.permissions import Principal
from node.programmes.queries import ProgrammeFilters, select_programmes, shape_programmes

PROGRAMME_COLUMNS: tuple[Column, ...] = (
    *(field(name) for name in ("programme_id", "serial_number", "title", "external_id", "stage", "sector",
                               "sectoral_scope", "type_of_mitigation", "country", "credit_unit", "start_time",
                               "end_time", "credit_estimate", "credit_issued", "credit_retired", "serial_start",
                               "serial_end")),
    each("owners", "organisation_id", "owner_ids"), each("owners", "name", "owner_names"),
    each("owners", "tax_id", "owner_tax_ids"), each("owners", "percentage", "owner_percentages"),
    each("certifiers", "organisation_id", "certifier_ids"), each("certifiers", "name", "certifier_names"),
    each("revoked_certifiers", "organisation_id", "revoked_certifier_ids"),
    each("revoked_certifiers", "name", "revoked_certifier_names"),
    *(field(name) for name in ("regions", "details_revision", "details_hash", "anchored_details_hash",
                               "details_verified", "created_block", "authorised_block", "updated_block")),
)  # fmt: skip

TRANSFER_COLUMNS: tuple[Column, ...] = tuple(field(name) for name in (
    "transfer_id", "programme_id", "from_organisation_id", "from_name", "to_organisation_id", "to_name", "amount",
    "state", "remarks", "initiator_organisation_id", "initiator_user_id", "decision_remarks", "tx_hash", "tx_hashes",
    "block_number", "created_at", "updated_at",
))  # fmt: skip

RETIREMENT_COLUMNS: tuple[Column, ...] = tuple(field(name) for name in (
    "retirement_id", "programme_id", "from_organisation_id", "from_name", "retirement_type", "country",
    "beneficiary", "amount", "omge_bps", "omge_amount", "international_amount", "state", "remarks",
    "initiator_organisation_id", "initiator_user_id", "decision_remarks", "chain_retirement_ids", "tx_hashes",
    "block_number", "created_at", "updated_at",
))  # fmt: skip


def _each_row(shape: Callable[[Any], dict[str, Any]]) -> Shape:
    """A batch shaped row by row (transfers and retirements need nothing beyond their row)."""

    def shape_all(_conn: Connection, rows: Sequence[Row[Any]]) -> list[dict[str, Any]]:
        return [shape(row) for row in rows]

    return shape_all


def programme_rows(engine: Engine, principal: Principal, filters: ProgrammeFilters, *, sort: str,
               order: str) -> RowBatches:  # fmt: skip
    """The programmes ``principal``'s list shows for these filters, in its order, as batches of list items."""
    statement = select_programmes(principal, filters, sort=sort, order=order)
    return RowBatches(engine, statement, shape_programmes)


def transfer_rows(engine: Engine, principal: Principal, filters: TransferFilters, *,
                  newest_first: bool) -> RowBatches:  # fmt: skip
    """The transfers ``principal``'s list shows for these filters, in its order."""
    statement = transfers.select_transfers(principal, filters, newest_first=newest_first)
    return RowBatches(engine, statement, _each_row(transfers.shape))


def retirement_rows(engine: Engine, principal: Principal, filters: RetirementFilters, *,
                    newest_first: bool) -> RowBatches:  # fmt: skip
    """The retirements ``principal``'s list shows for these filters, in its order."""
    statement = retirements.select_retirements(principal, filters, newest_first=newest_first)
    return RowBatches(engine, statement, _each_row(retirements.shape))

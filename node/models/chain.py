"""The ``chain`` schema: projections of the registry contract's events, owned by the indexer (ADR 0003).

Everything here can be rebuilt by replaying the chain from the deployment block. Columns holding ``uint64``
contract values (serials, tonnes) are ``NUMERIC(20, 0)``: PostgreSQL's BIGINT stops at 2^63 - 1.
Every row derived from an event keeps the block it came from, so readers can tell confirmed from unconfirmed
data (``block_number <= indexer_cursor.safe_block``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    Table,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.operators import OperatorType

from node.db.engine import chain_metadata as metadata


class Uint64(TypeDecorator[int]):
    """A contract ``uint64`` stored as ``NUMERIC(20, 0)``, compared and read as a Python ``int``.

    Why not plain ``Numeric(20, 0)``: SQLAlchemy types a Python int compared with a NUMERIC column by the int itself
    (INTEGER, or BIGINT from 2^31; an IN list by its first value), and the psycopg dialect casts the parameter to
    that type, so ``block_end IN (5, 2**31)`` or ``block_end == 2**63`` failed with "integer/bigint out of range".
    Returning itself from ``coerce_compared_value`` binds every compared int as NUMERIC. Results come back as
    ``int`` rather than ``Decimal`` because a uint64 is an exact integer everywhere else (contract, JSON).
    The schema is unchanged: the column is still ``NUMERIC(20, 0)``, which Alembic's type comparison sees.
    """

    impl = Numeric
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(precision=20, scale=0)

    def __repr__(self) -> str:
        """``Uint64()``, not the impl's arguments (which ``__init__`` does not take): what Alembic would render."""
        return "Uint64()"

    def coerce_compared_value(self, op: OperatorType | None, value: Any) -> Uint64:  # noqa: ARG002 (overridden)
        """Whatever the int's size, it binds as this column's type, never INTEGER or BIGINT."""
        return self

    def process_result_value(self, value: Any | None, dialect: Dialect) -> int | None:  # noqa: ARG002 (same)
        return None if value is None else int(value)


U64 = Uint64()
"""A contract ``uint64`` (serial numbers, tonnes)."""

indexer_cursor = Table(
    "indexer_cursor",
    metadata,
    Column("name", Text, primary_key=True),
    Column("block_number", BigInteger, nullable=False, comment="Last block whose events are applied"),
    Column("block_hash", LargeBinary, nullable=False),
    Column("head_block", BigInteger, nullable=False, comment="Chain head when the cursor last moved"),
    Column("head_time", DateTime(timezone=True), nullable=True),
    Column("safe_block", BigInteger, nullable=False, comment="Rows at or below this block are confirmed"),
    Column("events_applied", BigInteger, nullable=False, server_default="0"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

block = Table(
    "block",
    metadata,
    Column("number", BigInteger, primary_key=True),
    Column("hash", LargeBinary, nullable=False),
    Column("parent_hash", LargeBinary, nullable=True),
    Column("timestamp", DateTime(timezone=True), nullable=True),
    comment="Hashes of applied blocks (event blocks and range ends), for reorg detection",
)

event = Table(
    "event",
    metadata,
    Column("tx_hash", LargeBinary, primary_key=True),
    Column("log_index", Integer, primary_key=True),
    Column("block_number", BigInteger, nullable=False),
    Column("block_hash", LargeBinary, nullable=False),
    Column("block_time", DateTime(timezone=True), nullable=True),
    Column("name", Text, nullable=False),
    Column("programme_id", BigInteger, nullable=True),
    Column("request_ref", LargeBinary, nullable=True),
    Column("args", JSONB, nullable=False),
    Index("ix_event_block", "block_number", "log_index"),
    Index("ix_event_programme", "programme_id", "block_number", "log_index"),
    Index("ix_event_request_ref", "request_ref"),
    Index("ix_event_name_block", "name", "block_number"),
    comment="Every registry event, decoded, as the raw log the projections are built from",
)

programme = Table(
    "programme",
    metadata,
    Column("programme_id", BigInteger, primary_key=True),
    Column("external_id", Text, nullable=False, unique=True),
    Column("stage", Text, nullable=False),
    Column("sector", Text, nullable=False),
    Column("sectoral_scope", SmallInteger, nullable=False),
    Column("country", Text, nullable=False),
    Column("credit_unit", Text, nullable=False),
    Column("start_time", DateTime(timezone=True), nullable=False),
    Column("end_time", DateTime(timezone=True), nullable=False),
    Column("credit_estimate", U64, nullable=False),
    Column("credit_issued", U64, nullable=False, server_default="0"),
    Column("credit_retired", U64, nullable=False, server_default="0"),
    Column("serial_start", U64, nullable=True),
    Column("serial_end", U64, nullable=True),
    Column("regions", ARRAY(Text), nullable=False, server_default="{}"),
    Column("details_hash", LargeBinary, nullable=True, comment="SHA-256 of the off-chain details, as anchored"),
    Column("created_block", BigInteger, nullable=False),
    Column("authorised_block", BigInteger, nullable=True),
    Column("updated_block", BigInteger, nullable=False),
    Column(
        "created_at",
        DateTime(timezone=True),
        nullable=False,
        server_default=text("now()"),
        comment="Block time of ProgrammeCreated",
    ),  # fmt: skip
    Index("ix_programme_stage", "stage"),
    Index("ix_programme_sector", "sector"),
    Index("ix_programme_created_at", "created_at"),
)

programme_owner = Table(
    "programme_owner",
    metadata,
    Column(
        "programme_id", BigInteger, ForeignKey("chain.programme.programme_id", ondelete="CASCADE"), primary_key=True
    ),
    Column("position", SmallInteger, primary_key=True),
    Column("account_id", BigInteger, nullable=False),
    Column("share_ppm", Integer, nullable=False),
    Index("ix_programme_owner_account", "account_id"),
)

programme_certifier = Table(
    "programme_certifier",
    metadata,
    Column(
        "programme_id", BigInteger, ForeignKey("chain.programme.programme_id", ondelete="CASCADE"), primary_key=True
    ),
    Column("certifier_id", BigInteger, primary_key=True),
    Column("certified", Boolean, nullable=False),
    Column("updated_block", BigInteger, nullable=False),
    Index("ix_programme_certifier_certifier", "certifier_id"),
)

holding = Table(
    "holding",
    metadata,
    Column(
        "programme_id", BigInteger, ForeignKey("chain.programme.programme_id", ondelete="CASCADE"), primary_key=True
    ),
    Column("account_id", BigInteger, primary_key=True),
    Column("balance", U64, nullable=False, server_default="0"),
    Column("issued", U64, nullable=False, server_default="0", comment="Received by issuance"),
    Column("received", U64, nullable=False, server_default="0", comment="Received by transfer"),
    Column("transferred", U64, nullable=False, server_default="0", comment="Sent by transfer"),
    Column("retired", U64, nullable=False, server_default="0"),
    Column("updated_block", BigInteger, nullable=False),
    Index("ix_holding_account", "account_id"),
    comment="Credits of one programme per account; frozen credits = balance of a frozen account",
)

serial_block = Table(
    "serial_block",
    metadata,
    Column("block_end", U64, primary_key=True, comment="Last serial: the block's id, never changes"),
    Column("block_start", U64, nullable=False),
    Column("programme_id", BigInteger, ForeignKey("chain.programme.programme_id", ondelete="CASCADE"), nullable=False),
    Column("holder", BigInteger, nullable=False),
    Column("state", Text, nullable=False),
    Column("retirement_id", BigInteger, nullable=True),
    Column("updated_block", BigInteger, nullable=False),
    Index("ix_serial_block_holding", "programme_id", "holder", "block_start"),
    Index("ix_serial_block_start", "block_start"),
)

account = Table(
    "account",
    metadata,
    Column("account_id", BigInteger, primary_key=True),
    Column("frozen", Boolean, nullable=False),
    Column("updated_block", BigInteger, nullable=False),
    Index("ix_account_frozen", "account_id", postgresql_where=text("frozen")),
)

registry_state = Table(
    "registry_state",
    metadata,
    Column("id", SmallInteger, primary_key=True, server_default="1"),
    Column("paused", Boolean, nullable=False, server_default="false"),
    Column("government_account", BigInteger, nullable=True),
    Column("updated_block", BigInteger, nullable=False),
)

issuance = Table(
    "issuance",
    metadata,
    Column("tx_hash", LargeBinary, primary_key=True),
    Column("log_index", Integer, primary_key=True),
    Column("block_number", BigInteger, nullable=False),
    Column("programme_id", BigInteger, nullable=False),
    Column("amount", U64, nullable=False),
    Column("total_issued", U64, nullable=False),
    Column("request_ref", LargeBinary, nullable=False),
    Column("blocks", JSONB, nullable=False, comment="[{holder, start, end}]"),
    Index("ix_issuance_programme", "programme_id", "block_number"),
)

transfer = Table(
    "transfer",
    metadata,
    Column("tx_hash", LargeBinary, primary_key=True),
    Column("log_index", Integer, primary_key=True),
    Column("block_number", BigInteger, nullable=False),
    Column("programme_id", BigInteger, nullable=False),
    Column("from_account", BigInteger, nullable=False),
    Column("to_account", BigInteger, nullable=False),
    Column("amount", U64, nullable=False),
    Column("request_ref", LargeBinary, nullable=False),
    Column("ranges", JSONB, nullable=False, comment="[{start, end, source_end}] in serial order"),
    Index("ix_transfer_programme", "programme_id", "block_number"),
    Index("ix_transfer_from", "from_account", "block_number"),
    Index("ix_transfer_to", "to_account", "block_number"),
)

retirement = Table(
    "retirement",
    metadata,
    Column("retirement_id", BigInteger, primary_key=True),
    Column("tx_hash", LargeBinary, nullable=False),
    Column("log_index", Integer, nullable=False),
    Column("block_number", BigInteger, nullable=False),
    Column("programme_id", BigInteger, nullable=False),
    Column("from_account", BigInteger, nullable=False),
    Column("retirement_type", Text, nullable=False),
    Column("country", Text, nullable=True),
    Column("beneficiary", Text, nullable=True),
    Column("government_account", BigInteger, nullable=False),
    Column("amount", U64, nullable=False),
    Column("omge_amount", U64, nullable=False),
    Column("request_ref", LargeBinary, nullable=False),
    Column("ranges", JSONB, nullable=False),
    Column("omge_ranges", JSONB, nullable=False),
    Column("block_time", DateTime(timezone=True), nullable=True),
    Index("ix_retirement_programme", "programme_id", "block_number"),
    Index("ix_retirement_from", "from_account", "block_number"),
    Index("ix_retirement_country", "retirement_type", "country"),
    Index("ix_retirement_cross_border_time", "block_time", postgresql_where=text("retirement_type = 'cross_border'")),
)

programme_location = Table(
    "programme_location",
    metadata,
    Column(
        "programme_id", BigInteger, ForeignKey("chain.programme.programme_id", ondelete="CASCADE"), primary_key=True
    ),
    Column("position", SmallInteger, primary_key=True),
    Column("region_name", Text, nullable=False),
    Column("status", Text, nullable=False, comment="pending | resolved | unknown | unavailable"),
    Column("iso_code", Text, nullable=True),
    Column("latitude", Float, nullable=True),
    Column("longitude", Float, nullable=True),
    Column("provider", Text, nullable=True),
    Column("attempts", SmallInteger, nullable=False, server_default="0"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Index("ix_programme_location_status", "status"),
)

region_cache = Table(
    "region_cache",
    metadata,
    Column("provider", Text, primary_key=True),
    Column("country", Text, primary_key=True),
    Column("name_key", Text, primary_key=True, comment="Normalised region name"),
    Column("status", Text, nullable=False, comment="resolved | unknown"),
    Column("iso_code", Text, nullable=True),
    Column("latitude", Float, nullable=True),
    Column("longitude", Float, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    comment="Answers of location providers, so a replayed programme is not geocoded again",
)


def _amount(name: str) -> Column[Any]:
    """A sum of credits: unbounded NUMERIC (transfer volume can exceed any uint64)."""
    return Column(name, Numeric(), nullable=False, server_default="0")


programme_fact = Table(
    "programme_fact",
    metadata,
    Column("programme_id", BigInteger, primary_key=True),
    Column("counted", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", DateTime(timezone=True), nullable=True),
    Column("stage", Text, nullable=True),
    Column("sector", Text, nullable=True),
    _amount("credit_estimate"),
    _amount("credit_issued"),
    _amount("credit_retired"),
    _amount("credit_transferred"),
    _amount("credit_frozen"),
    Column("certifiers", Integer, nullable=False, server_default="0"),
    Column("revocations", Integer, nullable=False, server_default="0"),
    Index("ix_programme_fact_created_at", "created_at", postgresql_where=text("counted")),
    comment="Per programme: what it adds to programme_month (kept by triggers; chain.stats_rebuild())",
)
"""Kept by the triggers of migration 0012 (ADR 0018), never written by Python; ``counted`` is false while the
programme row is absent (a reorg's replay), so its transfer and certification tallies survive."""

programme_month = Table(
    "programme_month",
    metadata,
    Column("month", Date, primary_key=True),
    Column("stage", Text, primary_key=True),
    Column("sector", Text, primary_key=True),
    Column("programmes", BigInteger, nullable=False),
    _amount("credit_estimate"),
    _amount("credit_issued"),
    _amount("credit_retired"),
    _amount("credit_transferred"),
    _amount("credit_frozen"),
    Column("certified_programmes", BigInteger, nullable=False, server_default="0"),
    _amount("certified_estimate"),
    Column("revoked_programmes", BigInteger, nullable=False, server_default="0"),
    _amount("revoked_estimate"),
    comment="Programme sums per UTC month of creation, stage and sector (kept by triggers)",
)
"""The sum of the counted ``programme_fact`` rows per cell, kept by the same triggers."""

location_fact = Table(
    "location_fact",
    metadata,
    Column("programme_id", BigInteger, primary_key=True),
    Column("longitude", Float, primary_key=True),
    Column("latitude", Float, primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=True),
    Column("stage", Text, nullable=True),
    Index("ix_location_fact_created_at", "created_at"),
    comment="Each counted programme's distinct resolved points, as added to location_month (kept by triggers)",
)

location_month = Table(
    "location_month",
    metadata,
    Column("month", Date, primary_key=True),
    Column("stage", Text, primary_key=True),
    Column("longitude", Float, primary_key=True),
    Column("latitude", Float, primary_key=True),
    Column("programmes", BigInteger, nullable=False),
    comment="Programmes per point, stage and UTC month of creation (kept by triggers)",
)

location_total = Table(
    "location_total",
    metadata,
    Column("stage", Text, primary_key=True),
    Column("longitude", Float, primary_key=True),
    Column("latitude", Float, primary_key=True),
    Column("programmes", BigInteger, nullable=False),
    comment="Programmes per point and stage, all time (kept by triggers)",
)

retirement_month = Table(
    "retirement_month",
    metadata,
    Column("month", Date, primary_key=True),
    Column("country", Text, primary_key=True),
    Column("retirements", BigInteger, nullable=False),
    _amount("credits"),
    _amount("international_credits"),
    comment="Cross-border retirements per UTC month and receiving country (kept by triggers)",
)

SCHEMA_TABLES = (
    indexer_cursor,
    block,
    event,
    programme,
    programme_owner,
    programme_certifier,
    holding,
    serial_block,
    account,
    registry_state,
    issuance,
    transfer,
    retirement,
    programme_location,
    region_cache,
    programme_fact,
    programme_month,
    location_fact,
    location_month,
    location_total,
    retirement_month,
)

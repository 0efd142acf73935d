"""The working set of one applied batch: rows loaded once, changed in memory by the handlers, flushed in bulk.

Why in memory: a backfill applies tens of thousands of events; one SQL round trip per event would make the
indexer far slower than reading the chain. The batch loads every row its events can touch in a few queries,
handlers mutate plain dicts, and ``flush`` writes each table with one multi-row upsert, all inside the
transaction that also moves the cursor.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import BindParameter, Column, Connection, Executable, Table, bindparam, delete, select, tuple_
from sqlalchemy.dialects.postgresql import Insert, insert

from indexer.decoding import Event
from node.models import chain

Row = dict[str, Any]


class ProjectionError(RuntimeError):
    """An event does not fit the projections (e.g. it names a programme never created): a gap or a bug."""


def _block_ends(event: Event) -> set[int]:
    """Existing blocks an event can change: the sources of its moves, and both blocks of each merge (ADR 0015)."""
    if event.name == "CreditsTransferred":
        moves = list(event.args["moves"])
    elif event.name == "CreditsRetired":
        moves = [*event.args["credits"]["moves"], *event.args["credits"]["omgeMoves"]]
    else:
        moves = []
    merges = event.args.get("merges", []) if event.name in ("CreditsTransferred", "CreditsIssued") else []
    return {m["sourceEnd"] for m in moves} | {m["end"] for m in merges} | {m["removedEnd"] for m in merges}


class BatchState:
    """Rows of the ``chain`` projections touched by a batch of events."""

    def __init__(self) -> None:
        self.programmes: dict[int, Row] = {}
        self.owners: list[Row] = []
        self.certifiers: dict[tuple[int, int], Row] = {}
        self.holdings: dict[tuple[int, int], Row] = {}
        self.blocks: dict[int, Row] = {}
        self.accounts: dict[int, Row] = {}
        self.registry: Row | None = None
        self.issuances: list[Row] = []
        self.transfers: list[Row] = []
        self.retirements: list[Row] = []
        self.locations: list[Row] = []
        self._dirty: dict[str, set[Any]] = {"programme": set(), "certifier": set(), "holding": set(),
                                             "block": set(), "account": set()}  # fmt: skip
        self._registry_dirty = False
        self._deleted_blocks: set[int] = set()

    # ------------------------------------------------------------------ loading

    def load(self, conn: Connection, events: Iterable[Event]) -> None:
        """Reads every existing row the events can touch, in one query per table."""
        programme_ids: set[int] = set()
        holding_keys: set[tuple[int, int]] = set()
        block_ends: set[int] = set()
        certifier_keys: set[tuple[int, int]] = set()
        account_ids: set[int] = set()
        registry = False
        for event in events:
            pid = event.programme_id
            if pid is not None:
                programme_ids.add(pid)
            args = event.args
            if event.name == "CreditsTransferred":
                holding_keys |= {(pid, args["from"]), (pid, args["to"])}  # type: ignore[arg-type]
            elif event.name == "CreditsRetired":
                holding_keys.add((pid, args["from"]))  # type: ignore[arg-type]
            elif event.name == "CreditsIssued":
                holding_keys |= {(pid, b["holder"]) for b in args["blocks"]}  # type: ignore[misc]
            elif event.name in ("ProgrammeCertified", "CertificationRevoked"):
                certifier_keys.add((pid, args["certifier"]))  # type: ignore[arg-type]
            elif event.name in ("AccountFrozen", "AccountUnfrozen"):
                account_ids.add(args["account"])
            elif event.name in ("TransferPauseSet", "GovernmentAccountSet"):
                registry = True
            block_ends |= _block_ends(event)
        self._load_keyed(conn, chain.programme, [chain.programme.c.programme_id], programme_ids, self.programmes)
        self._load_keyed(conn, chain.holding, [chain.holding.c.programme_id, chain.holding.c.account_id],
                         holding_keys, self.holdings)  # fmt: skip
        self._load_keyed(conn, chain.serial_block, [chain.serial_block.c.block_end], block_ends, self.blocks)
        self._load_keyed(conn, chain.programme_certifier, [chain.programme_certifier.c.programme_id,
                         chain.programme_certifier.c.certifier_id], certifier_keys, self.certifiers)  # fmt: skip
        self._load_keyed(conn, chain.account, [chain.account.c.account_id], account_ids, self.accounts)
        if registry:
            row = conn.execute(_REGISTRY).mappings().first()
            self.registry = dict(row) if row else None

    @staticmethod
    def _load_keyed(
        conn: Connection, table: Table, key: list[Column[Any]], wanted: set[Any], into: dict[Any, Row]
    ) -> None:
        """Loads the rows whose ``key`` is in ``wanted``, in chunks of 5000 keys.

        Plain ``IN`` is safe for every key here: ``U64`` columns (``block_end``) bind each compared int as NUMERIC
        whatever its size, and BIGINT keys (programme and account ids) hold ints that fit BIGINT. Rows come back
        with ints, never Decimals (``U64`` converts), so handlers can do exact arithmetic on them directly.
        """
        if not wanted:
            return
        keys = sorted(wanted)
        statement = _load_statement(table, key)
        for chunk in range(0, len(keys), 5000):
            part = keys[chunk : chunk + 5000]
            for row in conn.execute(statement, {"p_keys": part}).mappings():
                ident = row[key[0].name] if len(key) == 1 else tuple(row[k.name] for k in key)
                into[ident] = dict(row)

    # ------------------------------------------------------------------ access for handlers

    def programme(self, programme_id: int) -> Row:
        row = self.programmes.get(programme_id)
        if row is None:
            raise ProjectionError(f"event for programme {programme_id}, which the projections do not have")
        self._dirty["programme"].add(programme_id)
        return row

    def add_programme(self, row: Row) -> None:
        self.programmes[row["programme_id"]] = row
        self._dirty["programme"].add(row["programme_id"])

    def holding(self, programme_id: int, account_id: int, block_number: int) -> Row:
        key = (programme_id, account_id)
        row = self.holdings.get(key)
        if row is None:
            row = {"programme_id": programme_id, "account_id": account_id, "balance": 0, "issued": 0, "received": 0,
                   "transferred": 0, "retired": 0}  # fmt: skip
            self.holdings[key] = row
        row["updated_block"] = block_number
        self._dirty["holding"].add(key)
        return row

    def block(self, block_end: int) -> Row:
        row = self.blocks.get(block_end)
        if row is None:
            raise ProjectionError(f"serial block ending at {block_end} is not in the projections")
        self._dirty["block"].add(block_end)
        return row

    def add_block(self, row: Row) -> None:
        self.blocks[row["block_end"]] = row
        self._dirty["block"].add(row["block_end"])
        self._deleted_blocks.discard(row["block_end"])

    def delete_block(self, block_end: int) -> None:
        """Removes a block merged into its neighbour; its id may be used again later (a split can end there)."""
        if self.blocks.pop(block_end, None) is None:
            raise ProjectionError(f"serial block ending at {block_end} is not in the projections")
        self._dirty["block"].discard(block_end)
        self._deleted_blocks.add(block_end)

    def certifier(self, programme_id: int, certifier_id: int) -> Row:
        key = (programme_id, certifier_id)
        row = self.certifiers.setdefault(key, {"programme_id": programme_id, "certifier_id": certifier_id})
        self._dirty["certifier"].add(key)
        return row

    def account(self, account_id: int) -> Row:
        row = self.accounts.setdefault(account_id, {"account_id": account_id, "frozen": False})
        self._dirty["account"].add(account_id)
        return row

    def registry_row(self) -> Row:
        if self.registry is None:
            self.registry = {"id": 1, "paused": False, "government_account": None}
        self._registry_dirty = True
        return self.registry

    # ------------------------------------------------------------------ writing

    def flush(self, conn: Connection) -> None:
        """Writes every changed row: one multi-row upsert per table (parents before children)."""
        _upsert(conn, chain.programme, [self.programmes[k] for k in sorted(self._dirty["programme"])])
        _insert_new(conn, chain.programme_owner, self.owners)
        _upsert(conn, chain.programme_certifier, [self.certifiers[k] for k in sorted(self._dirty["certifier"])])
        _upsert(conn, chain.holding, [self.holdings[k] for k in sorted(self._dirty["holding"])])
        ends = sorted(self._deleted_blocks)  # merged away (ADR 0015)
        for chunk in range(0, len(ends), 5000):
            conn.execute(_DELETE_BLOCKS, {"p_ends": ends[chunk : chunk + 5000]})
        _upsert(conn, chain.serial_block, [self.blocks[k] for k in sorted(self._dirty["block"])])
        _upsert(conn, chain.account, [self.accounts[k] for k in sorted(self._dirty["account"])])
        if self._registry_dirty and self.registry is not None:
            _upsert(conn, chain.registry_state, [self.registry])
        _insert_new(conn, chain.issuance, self.issuances)
        _insert_new(conn, chain.transfer, self.transfers)
        _insert_new(conn, chain.retirement, self.retirements)
        _insert_new(conn, chain.programme_location, self.locations)


# Statements built once (ADR 0020: keying a statement object cost more than running it, and a batch of one
# transfer runs about ten of them), each keyed by what shapes it.
_REGISTRY = select(chain.registry_state)
_DELETE_BLOCKS = delete(chain.serial_block).where(
    chain.serial_block.c.block_end.in_(bindparam("p_ends", expanding=True))
)
_LOADS: dict[tuple[Table, tuple[str, ...]], Executable] = {}
_UPSERTS: dict[tuple[Table, tuple[str, ...]], Executable] = {}
_INSERTS: dict[Table, Executable] = {}


def _load_statement(table: Table, key: list[Column[Any]]) -> Executable:
    """The rows of ``table`` whose ``key`` is among the bound ``p_keys`` (a plain ``IN``, one bound value per key
    of the same type as the column, as with literal values)."""
    shape = (table, tuple(c.name for c in key))
    statement = _LOADS.get(shape)
    if statement is None:
        keys: BindParameter[Any] = bindparam("p_keys", expanding=True)
        condition = key[0].in_(keys) if len(key) == 1 else tuple_(*key).in_(keys)
        statement = _LOADS[shape] = select(table).where(condition)
    return statement


def _upsert(conn: Connection, table: Table, rows: list[Row]) -> None:
    if not rows:
        return
    shape = (table, tuple(rows[0]))
    statement = _UPSERTS.get(shape)
    if statement is None:
        keys = [c.name for c in table.primary_key.columns]
        upsert = insert(table)
        upsert = upsert.on_conflict_do_update(
            index_elements=keys, set_={c: upsert.excluded[c] for c in shape[1] if c not in keys}
        )
        statement = _UPSERTS[shape] = _returning(upsert, table)
    _many(conn, statement, rows)


def _insert_new(conn: Connection, table: Table, rows: list[Row]) -> None:
    """Inserts per-event rows; rows already there (a replay after a reorg) are left as they are."""
    if rows:
        statement = _INSERTS.get(table)
        if statement is None:
            statement = _INSERTS[table] = _returning(insert(table).on_conflict_do_nothing(), table)
        _many(conn, statement, rows)


def _returning(statement: Insert, table: Table) -> Executable:
    """Why the RETURNING: it is what makes SQLAlchemy batch an ``INSERT ... ON CONFLICT`` into multi-row statements
    ("insertmanyvalues"); without it psycopg runs one statement per row, and the analytics summaries'
    statement-level triggers (ADR 0018) would run once per row instead of once per batch (ten times slower)."""
    return statement.returning(*table.primary_key.columns)


def _many(conn: Connection, statement: Executable, rows: list[Row]) -> None:
    """Runs ``statement`` for every row as multi-row statements of up to 1,000 rows each (see :func:`_returning`)."""
    conn.execute(statement, rows).all()

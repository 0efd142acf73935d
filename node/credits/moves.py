"""Moving one holder's credits in as many chain calls as its blocks need, atomically as the user sees it (ADR 0016).

Each chain call moves the holder's lowest serials first and pays for every block it touches: about 1,820 blocks fit
in a 30M-gas block (``bench.gas``). Before a move of a holder with many blocks (as indexed) the node reads its first
:data:`MAX_BLOCKS_PER_CALL` blocks (one ``blocksOf`` call); when they hold fewer credits than the move needs, the
move is *split*: the node sends parts of at most that many blocks, one after the other, inside the one completing
transaction of the write's intent (:mod:`node.programmes.changes`), and the user sees one transfer or retirement
with every part's transaction.

- **References.** Part 0 uses the intent's own request reference, part *i* > 0 ``keccak(ref ‖ i)``: every part is a
  write of its own, bound to its own call by the contract (ADR 0012).
- **Retries.** A split move, and any retry, first asks the contract whether a part's reference is already used
  (``requestDigest``); a used one is found among the indexed events with the amount it moved, and the move goes on
  with the rest. A crash between two parts is thus completed once, by a retry or by ``registry up``.
- **Gas.** Each part is sent with a gas limit worked out from its shape (:func:`node.chain.registry.move_gas`: the
  holder's blocks it can touch, at most its amount, and the receiver's blocks it may walk, as indexed, with some
  slack), without ``eth_estimateGas`` (ADR 0020). A refusal is then explained from the mined transaction, and one
  that ran out of gas is sent again with an estimate.
- **Atomic as the user sees it.** The completing transaction holds an advisory lock on (programme, holder): shared
  for a move of one call, exclusive for a split one, so no other move of this node takes the holder's credits
  between two parts (and the parts' plan, read just before each, holds). One-call moves still run side by side.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from eth_utils.crypto import keccak
from sqlalchemy import BindParameter, Connection, Executable, Table, bindparam, func, select, text

from node import intents
from node.chain.errors import ContractRevert, RequestReferenceReused
from node.chain.registry import move_gas
from node.chain.types import BlockState
from node.errors import ServiceUnavailable
from node.models.chain import serial_block
from node.programmes import changes
from node.programmes.changes import Applied, ProgrammeContext

MAX_BLOCKS_PER_CALL = 1000
"""Blocks of the holder one chain call may touch: well inside the block gas limit (about 1,820), with room for
blocks that arrive between the plan and the call."""

GAS_SLACK_BLOCKS = 8
"""Blocks a holder or receiver may have beyond the indexed ones when a part's gas limit is worked out (blocks that
arrived since the last indexed block); a limit still too low only costs a second transaction (ADR 0020)."""

_LOCK_NAMESPACE = 0x4D4F_5645  # "MOVE": advisory lock namespace of moves (two-int form)
_EMPTY = b"\0" * 32
_HELD = BlockState.HELD.name.lower()

Write = Callable[[int, bytes, int], Any]
"""Sends one part: (amount, request reference, gas limit) -> receipt."""


@dataclass(frozen=True)
class Moved:
    """Where each part of a move landed, in order, with the references they used."""

    parts: list[Applied]
    refs: list[bytes]

    @property
    def last(self) -> Applied:
        return self.parts[-1]

    @property
    def tx_hashes(self) -> list[str]:
        return [part.tx_hash for part in self.parts]


def part_ref(ref: bytes, index: int) -> bytes:
    return ref if index == 0 else keccak(ref + index.to_bytes(4, "big"))


def execute(
    context: ProgrammeContext, conn: Connection, *, ref: bytes, programme_id: int, holder: int, amount: int,
    write: Write, event_name: str, projection: Table, retry: bool, receiver: int | None = None,
) -> Moved:  # fmt: skip
    """Moves ``amount`` of the holder's credits with ``write``, in one call or in parts; waits until indexed.

    ``projection`` is the indexer's table of the event (``chain.transfer`` or ``chain.retirement``): it gives the
    amount a part found on chain moved. ``retry`` (the intent was attempted before) makes even a one-call move check
    its reference first, since the earlier attempt may have sent a part of another size. ``receiver``: the account
    the credits go to (a transfer), whose blocks count in the gas limit.
    """
    held, received = _indexed_blocks(conn, programme_id, holder, receiver)
    split = retry or (held > MAX_BLOCKS_PER_CALL // 2
                      and _first_part(context, programme_id, holder, amount) < amount)  # fmt: skip

    def gas(size: int) -> int:
        touched = min(size, held + GAS_SLACK_BLOCKS, MAX_BLOCKS_PER_CALL)
        return move_gas(touched, received + GAS_SLACK_BLOCKS if receiver is not None else 0)

    def send(size: int, part: bytes) -> Any:
        return write(size, part, gas(size))

    lock = "pg_advisory_xact_lock" if split else "pg_advisory_xact_lock_shared"
    conn.execute(text(f"select {lock}(cast(:ns as integer), hashtext(:key))"),
                 {"ns": _LOCK_NAMESPACE, "key": f"{programme_id}:{holder}"})  # fmt: skip
    if not split:
        try:
            return Moved([changes.send(context, conn, lambda: send(amount, ref), ref, event_name)], [ref])
        except intents.Refused as refused:
            if not isinstance(refused.cause, RequestReferenceReused):
                raise
            # Part 0 of a split move is on chain (the node died between parts, so nothing counted a retry): go on,
            # with the holder's lock now exclusive as a split move's is.
            conn.execute(text("select pg_advisory_xact_lock(cast(:ns as integer), hashtext(:key))"),
                         {"ns": _LOCK_NAMESPACE, "key": f"{programme_id}:{holder}"})  # fmt: skip
    return _split(context, conn, ref=ref, programme_id=programme_id, holder=holder, amount=amount, write=send,
                  event_name=event_name, projection=projection)  # fmt: skip


def _split(
    context: ProgrammeContext, conn: Connection, *, ref: bytes, programme_id: int, holder: int, amount: int,
    write: Callable[[int, bytes], Any], event_name: str, projection: Table,
) -> Moved:  # fmt: skip
    parts: list[Applied] = []
    refs: list[bytes] = []
    moved = 0
    while moved < amount:
        index = len(parts)
        part = part_ref(ref, index)
        if bytes(context.registry.view("requestDigest", part)) != _EMPTY:
            applied, size = _found(context, conn, part, event_name, projection)
        else:  # read under the lock: no other move of the node's changes the holder's blocks until the last part
            size = _first_part(context, programme_id, holder, amount - moved)
            try:
                applied = changes.send(context, conn, partial(write, size, part), part, event_name,
                                       first=index == 0)  # fmt: skip
            except ContractRevert as refusal:
                if index == 0:
                    raise
                # Part of the move is on chain: it cannot be refused any more, only completed (by a retry or by
                # ``registry up``) once whatever stops it (a frozen account, the pause) is lifted.
                raise ServiceUnavailable(
                    "{moved} of the {amount} credits have moved; the rest is refused for now ({reason}). The registry "
                    "completes the move by itself; retry to see it done.",
                    params={"moved": moved, "amount": amount, "reason": refusal.title},
                ) from refusal
        parts.append(applied)
        refs.append(part)
        moved += size
    return Moved(parts, refs)


def _indexed_blocks(conn: Connection, programme_id: int, holder: int, receiver: int | None) -> tuple[int, int]:
    """The holder's and the receiver's blocks of the programme as indexed, in one query. The holder's well under the
    limit: one call surely fits (the contract is not asked; blocks that arrived since and are not indexed yet cannot
    make up the margin)."""
    accounts = [holder] if receiver is None else [holder, receiver]
    parameters = {"p_programme_id": programme_id, "p_holder": holder, "p_receiver": receiver, "p_accounts": accounts}
    row = conn.execute(_BLOCK_COUNTS, parameters).one()
    return int(row[0]), int(row[1])


def _block_counts_statement() -> Executable:
    b = serial_block.c
    holder: BindParameter[Any] = bindparam("p_holder")
    receiver: BindParameter[Any] = bindparam("p_receiver")
    return select(func.count().filter(b.holder == holder), func.count().filter(b.holder == receiver)).where(
        b.programme_id == bindparam("p_programme_id"),
        b.holder.in_(bindparam("p_accounts", expanding=True)),
        b.state == _HELD,
    )


_BLOCK_COUNTS = _block_counts_statement()
"""Built once, as every move runs it (keying a statement object cost more than running it, ADR 0020)."""


def _first_part(context: ProgrammeContext, programme_id: int, holder: int, left: int) -> int:
    """Credits in the holder's first :data:`MAX_BLOCKS_PER_CALL` blocks (what one call may move), up to ``left``:
    one ``blocksOf`` read of the contract."""
    page, _next = context.registry.view("blocksOf", programme_id, holder, 0, MAX_BLOCKS_PER_CALL)
    credits = sum(int(block[1]) - int(block[0]) + 1 for block in page)
    return min(credits, left) if credits else left  # nothing held: the call is refused, with the contract's reason


def _found(context: ProgrammeContext, conn: Connection, ref: bytes, event_name: str,
           projection: Table) -> tuple[Applied, int]:  # fmt: skip
    """A part an earlier attempt put on chain: where it landed and how much it moved, once indexed."""
    registry = context.registry
    context.wait_indexed(int(registry.client.rpc(lambda: registry.client.w3.eth.block_number)))
    applied = changes.located(conn, ref, event_name)
    size = conn.execute(select(projection.c.amount).where(projection.c.request_ref == ref)).scalar_one()
    return applied, int(size)

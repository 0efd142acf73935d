"""How far the indexer is behind the chain, read from the database and the chain head.

Shared by ``GET /health``, the API's ``/metrics`` and the indexer's own metrics endpoint, so every process
reports the same figures without the API and the indexer importing each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, select

from node.chain.client import ChainClient
from node.models import chain


@dataclass(frozen=True)
class IndexerStatus:
    indexed_block: int | None
    safe_block: int | None
    head_block: int | None
    lag_blocks: int | None
    lag_seconds: float | None
    events_applied: int
    updated_at: datetime | None

    @property
    def state(self) -> str:
        if self.indexed_block is None:
            return "not_started"
        if self.lag_blocks is not None and self.lag_blocks > 5:
            return "behind"
        return "ok"


def indexer_status(engine: Engine, client: ChainClient, cursor_name: str = "registry") -> IndexerStatus:
    """Cursor from the database; head and block times from the chain (None where the chain is unreachable)."""
    with engine.connect() as conn:
        row = conn.execute(select(chain.indexer_cursor).where(chain.indexer_cursor.c.name == cursor_name)).first()
    if row is None:
        return IndexerStatus(None, None, None, None, None, 0, None)
    head: int | None = None
    lag_seconds: float | None = None
    try:
        head_block = client.rpc(lambda: client.w3.eth.get_block("latest"))
        indexed = client.rpc(lambda: client.w3.eth.get_block(int(row.block_number)))
        head = int(head_block["number"])
        lag_seconds = float(max(0, int(head_block["timestamp"]) - int(indexed["timestamp"])))
    except Exception:  # noqa: BLE001 - status reporting never fails; unknown figures stay None
        pass
    return IndexerStatus(
        indexed_block=int(row.block_number),
        safe_block=int(row.safe_block),
        head_block=head,
        lag_blocks=None if head is None else max(0, head - int(row.block_number)),
        lag_seconds=lag_seconds,
        events_applied=int(row.events_applied),
        updated_at=row.updated_at.astimezone(UTC) if row.updated_at else None,
    )


class IndexerCollector(Collector):
    """Prometheus collector computing the indexer figures at scrape time."""

    def __init__(self, engine: Engine, client: ChainClient) -> None:
        self.engine = engine
        self.client = client

    def collect(self) -> Iterator[Metric]:
        status = indexer_status(self.engine, self.client)
        gauges = {
            "registry_chain_head_block": ("Chain head block number", status.head_block),
            "registry_indexer_block": ("Last block applied by the indexer", status.indexed_block),
            "registry_indexer_safe_block": ("Rows at or below this block are confirmed", status.safe_block),
            "registry_indexer_lag_blocks": ("Blocks between the head and the indexer", status.lag_blocks),
            "registry_indexer_lag_seconds": ("Seconds between the head's and the indexed block's timestamps",
                                             status.lag_seconds),
        }  # fmt: skip
        for name, (documentation, value) in gauges.items():
            if value is not None:
                yield GaugeMetricFamily(name, documentation, value=float(value))
        yield CounterMetricFamily("registry_indexer_events_applied", "Events applied to the projections",
                                  value=float(status.events_applied))  # fmt: skip

"""Build and run the indexer for a node: from settings and deployment, or rebuild its projections."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine, text

from indexer.locations.worker import LocationWorker, provider_from_settings
from indexer.rpc import ChainReader
from indexer.runner import Indexer, IndexerConfig
from node.chain.compiler import load_artifacts
from node.chain.deployment import Deployment
from node.config import Settings
from node.models import chain

logger = logging.getLogger("registry.indexer")

KEPT_ON_REBUILD = {chain.region_cache.name}
"""Provider answers survive a rebuild: they are not chain data, and re-asking Mapbox costs money and time."""


def build_indexer(settings: Settings, engine: Engine, rpc_url: str, deployment: Deployment) -> Indexer:
    return Indexer(
        engine,
        ChainReader(rpc_url),
        address=deployment.registry,
        abi=load_artifacts()["CarbonRegistry"].abi,
        deploy_block=deployment.deploy_block,
        config=IndexerConfig(
            confirmations=settings.indexer_confirmations,
            finality_depth=settings.indexer_finality_depth,
            poll_interval=settings.indexer_poll_interval,
            initial_range=min(2000, settings.indexer_max_range),
            max_range=settings.indexer_max_range,
        ),
    )


def clear_projections(engine: Engine) -> None:
    """Empties every ``chain`` table (except the geocoding cache) so the next run replays from the deploy block."""
    names = ", ".join(f"chain.{t.name}" for t in chain.SCHEMA_TABLES if t.name not in KEPT_ON_REBUILD)
    with engine.begin() as conn:
        conn.execute(text(f"truncate {names} cascade"))
    logger.info("chain projections cleared; the indexer replays from the deployment block")


class IndexerThreads:
    """The indexer loop and the location worker as background threads of one process (``registry up``)."""

    def __init__(self, settings: Settings, engine: Engine, rpc_url: str, deployment: Deployment) -> None:
        self.stop = threading.Event()
        self.indexer = build_indexer(settings, engine, rpc_url, deployment)
        self.locations = LocationWorker(engine, provider_from_settings(settings), settings.registry_country)
        self._threads = [
            threading.Thread(target=self.indexer.run, args=(self.stop,), name="indexer", daemon=True),
            threading.Thread(target=self.locations.run, args=(self.stop,), name="locations", daemon=True),
        ]

    def start(self) -> IndexerThreads:
        for thread in self._threads:
            thread.start()
        return self

    def close(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

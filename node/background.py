"""The background work of ``registry up`` in a child process: the indexer (with its location worker) and the email
outbox worker.

Why a process: they are CPU work in Python, and in the API's process they took a quarter of its interpreter lock
(``bench.api``: moving them out raised API throughput by about 40%). The child shares the chain client's "mined"
nudge (:mod:`node.chain.activity`), so a write waiting for its block to be indexed is not held up by the indexer's
poll; read-your-writes across the two processes is PostgreSQL's NOTIFY (:mod:`node.indexer_wait`). The child stops
when told or when its parent is gone (a SIGKILLed node leaves no orphan indexing), and ignores Ctrl-C: the parent
stops it in order.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from typing import Any

from node.chain import activity
from node.chain.deployment import Deployment
from node.config import Settings


class BackgroundProcess:
    def __init__(self, settings: Settings, database_url: str, rpc_url: str, deployment: Deployment) -> None:
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: no copied threads, locks or sockets
        self.stop = context.Event()
        nudge = context.Event()
        activity.share(nudge)
        arguments = (settings, database_url, rpc_url, deployment, self.stop, nudge)
        self.process = context.Process(target=_run, name="registry-background", daemon=True, args=arguments)

    def start(self) -> BackgroundProcess:
        self.process.start()
        return self

    def close(self) -> None:
        self.stop.set()
        self.process.join(timeout=15)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)


def _run(settings: Settings, database_url: str, rpc_url: str, deployment: Deployment, stop: Any,
         nudge: Any) -> None:  # fmt: skip
    from indexer.service import IndexerThreads
    from node.db.engine import make_engine
    from node.email.worker import OutboxWorkerThread

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    activity.share(nudge)
    parent = os.getppid()
    engine = make_engine(database_url)
    indexer = IndexerThreads(settings, engine, rpc_url, deployment).start()
    outbox = OutboxWorkerThread(engine, settings).start()
    try:
        while not stop.wait(1.0) and os.getppid() == parent:
            pass
    finally:
        outbox.close()
        indexer.close()
        engine.dispose()

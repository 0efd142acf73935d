"""Background work of ``registry up`` in a child process (ADR 0017).

Why a process: the indexer and the email outbox are CPU work in Python, and in the API's process they took a
quarter of its interpreter lock (``bench.api``: moving them out raised API throughput by about 40%). The child shares
the chain client's "mined" nudge (:mod:`node.chain.activity`), so a write waiting for its block to be indexed is not
held up by the indexer's poll; read-your-writes across the two processes is PostgreSQL's NOTIFY
(:mod:`node.indexer_wait`). The child stops when told or when its parent is gone (a SIGKILLed node leaves no orphan
indexing), and ignores Ctrl-C: the parent stops it in order. What runs in it is the composition root's choice
(``node/cli.py``): a module-level function that starts the work and returns how to stop it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from collections.abc import Callable
from typing import Any

from node.chain import activity

Start = Callable[..., Callable[[], None]]
"""Starts the background work (in the child) and returns the function that stops it; importable by name."""


class BackgroundProcess:
    def __init__(self, start: Start, *arguments: Any) -> None:
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: no copied threads, locks or sockets
        self.stop = context.Event()
        nudge = context.Event()
        activity.share(nudge)
        self.process = context.Process(target=_run, name="registry-background", daemon=True,
                                       args=(start, arguments, self.stop, nudge))  # fmt: skip

    def start(self) -> BackgroundProcess:
        self.process.start()
        return self

    def close(self) -> None:
        self.stop.set()
        self.process.join(timeout=15)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)


def _run(start: Start, arguments: tuple[Any, ...], stop: Any, nudge: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    activity.share(nudge)
    parent = os.getppid()
    close = start(*arguments)
    try:
        while not stop.wait(1.0) and os.getppid() == parent:
            pass
    finally:
        close()

"""Background work of ``registry up`` in a child process (ADR 0017).

Why a process: the indexer and the email outbox are CPU work in Python, and in the API's process they took a
quarter of its interpreter lock (``bench.api``: moving them out raised API throughput by about 40%). The child shares
the chain client's "mined" nudge (:mod:`node.chain.activity`), so a write waiting for its block to be indexed is not
held up by the indexer's poll; read-your-writes across the two processes is PostgreSQL's NOTIFY
(:mod:`node.indexer_wait`). The child stops when told or when its parent is gone (a SIGKILLed node leaves no orphan
indexing), ignores Ctrl-C (the parent stops it in order), and is started again if it dies unasked. What runs in it
is the composition root's choice (``node/cli.py``): a module-level function that starts the work and returns how
to stop it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

from node.chain import activity

logger = logging.getLogger("registry.background")

Start = Callable[..., Callable[[], None]]
"""Starts the background work (in the child) and returns the function that stops it; importable by name."""


class BackgroundProcess:
    """The child process, started again (after a pause) whenever it dies unasked: without it nothing is indexed and
    every write would wait for its block in vain."""

    RESTART_PAUSE = 1.0

    def __init__(self, start: Start, *arguments: Any) -> None:
        self._context = multiprocessing.get_context("spawn")  # a fresh interpreter: no copied threads or sockets
        self.stop = self._context.Event()
        self._nudge = self._context.Event()
        activity.share(self._nudge)
        self._arguments = (start, arguments, self.stop, self._nudge, os.getpid())
        self.process = self._new_process()
        self.restarts = 0
        self._closing = threading.Event()
        self._watchdog = threading.Thread(target=self._watch, name="background-watchdog", daemon=True)

    def _new_process(self) -> Any:
        return self._context.Process(target=_run, name="registry-background", daemon=True, args=self._arguments)

    def start(self) -> BackgroundProcess:
        self.process.start()
        self._watchdog.start()
        return self

    def _watch(self) -> None:
        while not self._closing.is_set():
            self.process.join(timeout=0.5)
            if self.process.exitcode is None or self._closing.is_set():
                continue
            logger.error("the background process (indexer, email outbox) exited with %s; starting it again",
                         self.process.exitcode)  # fmt: skip
            if self._closing.wait(self.RESTART_PAUSE):
                return
            self.process = self._new_process()
            self.process.start()
            self.restarts += 1

    def close(self) -> None:
        self._closing.set()
        self.stop.set()
        if self._watchdog.is_alive():
            self._watchdog.join(timeout=5)
        self.process.join(timeout=15)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)


def _run(start: Start, arguments: tuple[Any, ...], stop: Any, nudge: Any, parent: int) -> None:
    """The child's body. ``parent`` is the PID the parent had when it spawned this child: a parent that died while
    the child was still starting must not be mistaken for the init process it was reparented to."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    activity.share(nudge)
    if os.getppid() != parent:
        return
    close = start(*arguments)
    try:
        while not stop.wait(1.0) and os.getppid() == parent:
            pass
    finally:
        close()

"""A process-wide nudge: this process just saw one of its own transactions mined.

An indexer idles on it between head polls, so a write that waits to be indexed before it answers (read your
writes) is picked up at once rather than at the next poll. Within one process it is a thread event; ``registry up``
shares a process-safe event with the indexer process it starts (:func:`share`). Any other indexer simply polls.
"""

from __future__ import annotations

import threading
from typing import Protocol


class _Event(Protocol):
    def set(self) -> None: ...
    def clear(self) -> None: ...
    def wait(self, timeout: float | None = None) -> bool: ...


_mined: _Event = threading.Event()


def share(event: _Event) -> None:
    """Uses ``event`` (a ``multiprocessing`` event) from now on, so processes given the same one nudge each other."""
    global _mined
    _mined = event


def mined() -> None:
    """Called by the chain client once a transaction it sent has its receipt."""
    _mined.set()


def wait_for_mined(timeout: float) -> bool:
    """Waits up to ``timeout`` seconds for a :func:`mined` since the last wait; True if there was one."""
    fired = _mined.wait(timeout)
    _mined.clear()
    return fired

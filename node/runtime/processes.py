"""Recognise a process again later, and stop one that is not our child.

A PID alone is not an identity: after a crash the PID of a dead child can be handed to any new process, and
signalling it would hit a stranger. ``ProcessIdentity`` adds what the kernel never reuses while the machine is
up: the start time in clock ticks since boot (field 22 of ``/proc/<pid>/stat``), the boot it belongs to, and
the exact command line. Linux only, like the rest of the node's runtime.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger("registry.runtime")

PROC = Path("/proc")


def boot_id() -> str:
    """Changes at every boot: start times of a previous boot say nothing about today's processes."""
    return (PROC / "sys" / "kernel" / "random" / "boot_id").read_text().strip()


def boot_time() -> float:
    """Unix time of the boot (``btime`` in ``/proc/stat``): process start ticks count from here."""
    for line in (PROC / "stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise RuntimeError("no btime in /proc/stat")


@dataclass(frozen=True)
class ProcessIdentity:
    """A running process as the kernel knows it: equal identities are the same process, never a recycled PID."""

    pid: int
    start_time: int
    """Clock ticks after boot when the process started; unique per PID for the life of the boot."""
    cmdline: tuple[str, ...]
    boot: str

    @classmethod
    def of(cls, pid: int) -> ProcessIdentity | None:
        """The identity of the live process ``pid``, or None when there is none (or only its zombie)."""
        try:
            stat = (PROC / str(pid) / "stat").read_text()
            raw_cmdline = (PROC / str(pid) / "cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            return None
        # The command name (field 2) is in parentheses and may itself hold spaces and parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        state, start_time = fields[0], int(fields[19])
        if state in ("Z", "X"):
            return None
        cmdline = tuple(part.decode(errors="replace") for part in raw_cmdline.split(b"\0")[:-1])
        return cls(pid=pid, start_time=start_time, cmdline=cmdline, boot=boot_id())

    @classmethod
    def own(cls) -> ProcessIdentity:
        identity = cls.of(os.getpid())
        assert identity is not None
        return identity

    def started_at(self) -> float:
        """Start time as a Unix timestamp (what PostgreSQL writes into ``postmaster.pid``)."""
        return boot_time() + self.start_time / os.sysconf("SC_CLK_TCK")

    def is_alive(self) -> bool:
        """True only while this very process runs (not a later one that got the same PID)."""
        return self.boot == boot_id() and ProcessIdentity.of(self.pid) == self

    def to_json(self) -> dict[str, Any]:
        return {"pid": self.pid, "start_time": self.start_time, "cmdline": list(self.cmdline), "boot": self.boot}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProcessIdentity:
        return cls(
            pid=int(data["pid"]),
            start_time=int(data["start_time"]),
            cmdline=tuple(str(part) for part in data["cmdline"]),
            boot=str(data["boot"]),
        )


def wait_gone(identity: ProcessIdentity, timeout: float) -> bool:
    """Polls until the process has exited (its parent, usually init after a crash, reaps it); True if it did."""
    deadline = time.monotonic() + timeout
    while identity.is_alive():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def terminate(identity: ProcessIdentity, timeout: float = 15.0) -> bool:
    """SIGTERM (Anvil saves its state on it), then SIGKILL after ``timeout``; only if it is still that process.

    Returns True when the process was running and got stopped, False when it was already gone.
    """
    if not identity.is_alive():
        return False
    logger.info("stopping pid %s (%s)", identity.pid, " ".join(identity.cmdline))
    with suppress(ProcessLookupError):  # it may exit between the check and the signal
        os.kill(identity.pid, signal.SIGTERM)
    if wait_gone(identity, timeout):
        return True
    if identity.is_alive():  # checked right before: the PID must not have been recycled meanwhile
        logger.warning("pid %s ignored SIGTERM for %.0f s; killing it", identity.pid, timeout)
        with suppress(ProcessLookupError):
            os.kill(identity.pid, signal.SIGKILL)
    wait_gone(identity, 5.0)
    return True

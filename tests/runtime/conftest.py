"""Fixtures of the runtime tests."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.runtime.node import Node


@pytest.fixture(scope="session", autouse=True)
def postgres_lock_dir() -> Iterator[None]:
    """One place for the embedded PostgreSQL library's inter-process lock, for this process and its children.

    The library puts it under ``XDG_RUNTIME_DIR``; unset, the node sets it to the cluster directory of the
    first data directory it touches, which here would be a test's, deleted while later children still use it.
    """
    if "XDG_RUNTIME_DIR" in os.environ:
        yield
        return
    path = _workdir()
    os.environ["XDG_RUNTIME_DIR"] = str(path)
    yield
    del os.environ["XDG_RUNTIME_DIR"]
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A directory outside pytest's ``/tmp/pytest-of-<user>``.

    As root, the embedded PostgreSQL runs as an unprivileged user that must traverse every parent of its data
    directory; the library opens them up, but every pytest session that starts (other engineers' too) resets
    ``/tmp/pytest-of-<user>`` to 0700, and a server started after that fails with "Permission denied".
    """
    path = _workdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def running_node() -> Iterator[Node]:
    """One ``registry up`` shared by a module's tests that only send it requests (it must survive them all)."""
    path = _workdir()
    node = Node(path / "data")
    try:
        node.start()
        yield node
    finally:
        node.close()
        shutil.rmtree(path, ignore_errors=True)


def _workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="registry-runtime-"))

"""The import rule of ARCHITECTURE.md: ``api`` and ``indexer`` depend on ``node`` and never on each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from node.paths import PROJECT_ROOT

FORBIDDEN = {"api": {"indexer"}, "indexer": {"api"}, "node": {"api", "indexer"}}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_forbidden_rooms(package: str) -> None:
    offenders = {
        str(path.relative_to(PROJECT_ROOT)): sorted(_imports(path) & FORBIDDEN[package])
        for path in (PROJECT_ROOT / package).rglob("*.py")
        if _imports(path) & FORBIDDEN[package]
    }
    # node/cli.py serves the API in `registry up`: the CLI is the composition root, allowed to import the rooms.
    offenders.pop("node/cli.py", None)
    assert offenders == {}


def test_the_licence_the_package_declares_is_in_the_repository() -> None:
    """A digital public good ships its licence text and says how to report a vulnerability."""
    pyproject = (PROJECT_ROOT / "pyproject.toml").read_text()
    assert 'license = "Apache-2.0"' in pyproject
    assert "Apache License\n                           Version 2.0" in (PROJECT_ROOT / "LICENSE").read_text()
    assert "Reporting a vulnerability" in (PROJECT_ROOT / "SECURITY.md").read_text()

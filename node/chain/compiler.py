"""Compile the Solidity sources with the pinned solc from npm, reproducibly.

Why a hand-built standard-JSON input: explorers verify a contract from the exact standard-JSON input
(every source's content, settings, compiler version). We resolve imports ourselves so that the input we
save is self-contained and byte-for-byte the one we compiled, and so that the same sources always give
the same artifacts (the input hash is the cache key).
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import solcx
from solcx.exceptions import SolcError

from node.paths import PROJECT_ROOT

SOLC_VERSION = "0.8.37"
EVM_VERSION = "cancun"
OPTIMIZER_RUNS = 200

_IMPORT = re.compile(r"""^\s*import\s+(?:[^"';]*?\s+from\s+)?["']([^"']+)["']\s*;""", re.MULTILINE)


class CompilationError(RuntimeError):
    """solc reported errors; the message lists them."""


@dataclass(frozen=True)
class Artifact:
    """One compiled contract as stored under ``build/contracts``."""

    name: str
    source: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    metadata: str

    @classmethod
    def load(cls, path: Path) -> Artifact:
        data = json.loads(path.read_text())
        return cls(
            name=data["contractName"],
            source=data["sourceName"],
            abi=data["abi"],
            bytecode=data["bytecode"],
            deployed_bytecode=data["deployedBytecode"],
            metadata=data["metadata"],
        )


def solc_binary(root: Path = PROJECT_ROOT) -> Path:
    """The wrapper around npm's solcjs (toolchain.md §3)."""
    return root / "bin" / "solc"


def _resolve(unit: str, root: Path) -> Path:
    if unit.startswith("@openzeppelin/"):
        return root / "node_modules" / unit
    return root / unit


def collect_sources(root: Path = PROJECT_ROOT) -> dict[str, str]:
    """All source units reachable from ``contracts/``, keyed by source unit name, sorted."""
    pending = sorted(p.relative_to(root).as_posix() for p in (root / "contracts").rglob("*.sol"))
    sources: dict[str, str] = {}
    while pending:
        unit = pending.pop()
        if unit in sources:
            continue
        path = _resolve(unit, root)
        if not path.is_file():
            raise CompilationError(f"source {unit!r} not found at {path} (did `npm ci` run?)")
        text = path.read_text()
        sources[unit] = text
        for target in _IMPORT.findall(text):
            if target.startswith("."):
                target = posixpath.normpath(posixpath.join(posixpath.dirname(unit), target))
            pending.append(target)
    return dict(sorted(sources.items()))


def standard_input(sources: dict[str, str]) -> dict[str, Any]:
    """The standard-JSON input: pinned settings, every source inline."""
    return {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources.items()},
        "settings": {
            "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
            "evmVersion": EVM_VERSION,
            "metadata": {"bytecodeHash": "ipfs"},
            "outputSelection": {
                name: {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "metadata"]}
                for name in sources
                if name.startswith("contracts/")
            },
        },
    }


def input_hash(compiler_input: dict[str, Any]) -> str:
    canonical = json.dumps(compiler_input, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(canonical + SOLC_VERSION.encode()).hexdigest()


def build_dir(root: Path = PROJECT_ROOT) -> Path:
    return root / "build"


def compile_contracts(root: Path = PROJECT_ROOT, *, force: bool = False) -> dict[str, Artifact]:
    """Compile ``contracts/`` into ``build/`` unless the artifacts already match the sources.

    Returns the artifacts keyed by contract name.
    """
    compiler_input = standard_input(collect_sources(root))
    digest = input_hash(compiler_input)
    out = build_dir(root)
    manifest_path = out / "build-info.json"
    if not force and manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("inputHash") == digest:
            return load_artifacts(root)

    try:
        output = solcx.compile_standard(
            compiler_input,
            solc_binary=solc_binary(root),
            base_path=str(root),
            allow_paths=[str(root)],
        )
    except SolcError as exc:
        output = json.loads(exc.stdout_data or "{}")
        if not output.get("errors"):
            raise CompilationError(str(exc)) from exc
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompilationError("\n".join(e.get("formattedMessage", e["message"]) for e in errors))

    contracts_dir = out / "contracts"
    contracts_dir.mkdir(parents=True, exist_ok=True)
    for stale in contracts_dir.glob("*.json"):
        stale.unlink()
    compiler_version = json.loads(next(iter(_iter_metadata(output))))["compiler"]["version"]
    for source_name, contracts in sorted(output["contracts"].items()):
        for name, data in sorted(contracts.items()):
            artifact = {
                "contractName": name,
                "sourceName": source_name,
                "compiler": compiler_version,
                "abi": data["abi"],
                "bytecode": "0x" + data["evm"]["bytecode"]["object"],
                "deployedBytecode": "0x" + data["evm"]["deployedBytecode"]["object"],
                "metadata": data["metadata"],
            }
            (contracts_dir / f"{name}.json").write_text(json.dumps(artifact, indent=2, sort_keys=True) + "\n")
    (out / "standard-json-input.json").write_text(json.dumps(compiler_input, indent=2, sort_keys=True) + "\n")
    manifest_path.write_text(
        json.dumps({"inputHash": digest, "solcVersion": compiler_version}, indent=2, sort_keys=True) + "\n"
    )
    return load_artifacts(root)


def _iter_metadata(output: dict[str, Any]) -> list[str]:
    return [c["metadata"] for contracts in output["contracts"].values() for c in contracts.values()]


def load_artifacts(root: Path = PROJECT_ROOT) -> dict[str, Artifact]:
    contracts_dir = build_dir(root) / "contracts"
    return {p.stem: Artifact.load(p) for p in sorted(contracts_dir.glob("*.json"))}

"""Ape users can compile and deploy the same contracts: ``ape compile`` and ``ape run deploy``.

The test builds an isolated virtualenv with the pinned Ape (toolchain.md T9: eth-ape 0.8.51, ape-solidity 0.8.6,
ape-foundry 0.8.12; Ape pins web3 < 8 so it cannot share the node's environment), installs the npm solc wrapper as
py-solc-x's 0.8.37 binary, and runs Ape on a copy of the project. The virtualenv is cached in build/ by its pins.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from node.chain.compiler import Artifact, build_dir
from node.paths import PROJECT_ROOT
from node.runtime.anvil import ANVIL_BINARY

APE_PINS = ["eth-ape==0.8.51", "ape-solidity==0.8.6", "ape-foundry==0.8.12"]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ape_env() -> Path:
    env = build_dir() / f"ape-env-{hashlib.sha256(' '.join(APE_PINS).encode()).hexdigest()[:12]}"
    if not (env / "bin" / "ape").is_file():
        shutil.rmtree(env, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
        subprocess.run([str(env / "bin" / "pip"), "install", "--quiet", *APE_PINS], check=True)
    return env


@pytest.fixture(scope="module")
def ape_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("ape")
    project = root / "project"
    project.mkdir()
    for name in ("contracts", "scripts"):
        shutil.copytree(PROJECT_ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PROJECT_ROOT / "ape-config.yaml", project)
    (project / "node_modules").symlink_to(PROJECT_ROOT / "node_modules")
    solcx_dir, bin_dir, home = root / "solcx", root / "bin", root / "home"
    for d in (solcx_dir, bin_dir, home):
        d.mkdir()
    solc = solcx_dir / "solc-v0.8.37"  # what py-solc-x (and so ape-solidity) looks for
    solc.write_text(f'#!/bin/sh\nexec "{PROJECT_ROOT / "bin" / "solc"}" "$@"\n')
    solc.chmod(0o755)
    (bin_dir / "anvil").symlink_to(ANVIL_BINARY)  # ape-foundry finds anvil on PATH
    env = {**os.environ, "HOME": str(home), "SOLCX_BINARY_PATH": str(solcx_dir),
           "PATH": f"{bin_dir}:{os.environ['PATH']}"}  # fmt: skip
    env.pop("VIRTUAL_ENV", None)
    return project, env


def _runtime_code(hex_code: str) -> bytes:
    """Bytecode without the CBOR metadata trailer (which hashes source paths, different under Ape)."""
    code = bytes.fromhex(hex_code.removeprefix("0x"))
    return code[: -(int.from_bytes(code[-2:], "big") + 2)]


def test_ape_compile_builds_the_same_contracts(
    ape_env: Path, ape_project: tuple[Path, dict[str, str]], artifacts: dict[str, Artifact]
) -> None:
    project, env = ape_project
    result = subprocess.run([str(ape_env / "bin" / "ape"), "compile"], cwd=project, env=env, capture_output=True,
                            text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((project / ".build" / "__local__.json").read_text())
    ape_registry = manifest["contractTypes"]["CarbonRegistry"]
    ours = artifacts["CarbonRegistry"]
    assert sorted(json.dumps(i, sort_keys=True) for i in ape_registry["abi"]) == sorted(
        json.dumps(i, sort_keys=True) for i in ours.abi
    )
    assert _runtime_code(ape_registry["runtimeBytecode"]["bytecode"]) == _runtime_code(ours.deployed_bytecode)


def test_ape_deploy_script_deploys_a_working_registry(ape_env: Path, ape_project: tuple[Path, dict[str, str]]) -> None:
    project, env = ape_project
    result = subprocess.run(
        [str(ape_env / "bin" / "ape"), "run", "deploy", "--network", "ethereum:local:foundry"],
        cwd=project, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "version=1.2.0" in result.stdout

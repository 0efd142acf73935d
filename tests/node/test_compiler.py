"""Compilation is reproducible, cached by input hash, and keeps what explorers need to verify the source."""

from __future__ import annotations

import json

import pytest
import solcx
from eth_utils.address import to_checksum_address

from node.chain import compiler
from node.chain.client import ChainClient
from node.chain.compiler import Artifact, build_dir, collect_sources, compile_contracts, input_hash, standard_input
from node.chain.deployment import Deployment
from node.paths import PROJECT_ROOT


def test_sources_include_every_import_with_content() -> None:
    sources = collect_sources()
    assert "contracts/CarbonRegistry.sol" in sources
    assert "@openzeppelin/contracts-upgradeable/proxy/utils/UUPSUpgradeable.sol" in sources
    assert "contracts/interfaces/ICarbonRegistryErrors.sol" in sources
    assert all(text.strip() for text in sources.values())


def test_standard_input_is_saved_and_matches_metadata(artifacts: dict[str, Artifact]) -> None:
    saved = json.loads((build_dir() / "standard-json-input.json").read_text())
    assert saved == standard_input(collect_sources())
    metadata = json.loads(artifacts["CarbonRegistry"].metadata)
    assert metadata["compiler"]["version"].startswith(compiler.SOLC_VERSION)
    assert metadata["settings"]["optimizer"] == {"enabled": True, "runs": compiler.OPTIMIZER_RUNS}
    assert set(metadata["sources"]) <= set(saved["sources"])


def test_compiling_twice_gives_identical_bytecode(artifacts: dict[str, Artifact]) -> None:
    again = solcx.compile_standard(
        standard_input(collect_sources()), solc_binary=compiler.solc_binary(), allow_paths=[str(PROJECT_ROOT)]
    )
    bytecode = again["contracts"]["contracts/CarbonRegistry.sol"]["CarbonRegistry"]["evm"]["bytecode"]["object"]
    assert "0x" + bytecode == artifacts["CarbonRegistry"].bytecode


def test_current_artifacts_are_reused_without_compiling(
    artifacts: dict[str, Artifact], monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_: object, **__: object) -> None:
        raise AssertionError("solc ran although the sources did not change")

    monkeypatch.setattr(solcx, "compile_standard", fail)
    assert compile_contracts().keys() == artifacts.keys()
    manifest = json.loads((build_dir() / "build-info.json").read_text())
    assert manifest["inputHash"] == input_hash(standard_input(collect_sources()))


def test_contract_fits_the_code_size_limit(artifacts: dict[str, Artifact]) -> None:
    assert len(bytes.fromhex(artifacts["CarbonRegistry"].deployed_bytecode[2:])) <= 24_576


def test_deployed_proxy_code_matches_artifact(
    client: ChainClient, deployment: Deployment, artifacts: dict[str, Artifact]
) -> None:
    # The proxy has no immutables, so its runtime code is byte-identical to the artifact: what an explorer checks.
    code = client.w3.eth.get_code(to_checksum_address(deployment.registry))
    assert code.to_0x_hex() == artifacts["RegistryProxy"].deployed_bytecode

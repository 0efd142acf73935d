"""Ape script: deploy the registry (implementation + ERC-1967 proxy), for Ape users.

    ape run deploy --network ethereum:local:foundry

The node deploys with ``registry deploy`` (node/chain/deployment.py) and does not need Ape; this script does the
same with Ape's accounts and networks. Environment: REGISTRY_COUNTRY (default NG), REGISTRY_GOVERNMENT_ACCOUNT
(default 1), APE_ACCOUNT (an Ape account alias; default: the network's first test account).
"""

from __future__ import annotations

import os


def main() -> None:
    from ape import accounts, project

    deployer = accounts.load(os.environ["APE_ACCOUNT"]) if "APE_ACCOUNT" in os.environ else accounts.test_accounts[0]
    country = os.environ.get("REGISTRY_COUNTRY", "NG").encode("ascii")
    government = int(os.environ.get("REGISTRY_GOVERNMENT_ACCOUNT", "1"))

    implementation = deployer.deploy(project.CarbonRegistry)
    init = implementation.initialize.encode_input(
        deployer.address, deployer.address, deployer.address, country, government
    )
    proxy = deployer.deploy(project.RegistryProxy, implementation.address, init)
    registry = project.CarbonRegistry.at(proxy.address)
    print(f"registry={proxy.address} implementation={implementation.address} version={registry.version()}")

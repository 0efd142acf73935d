"""Child process for the cross-process nonce test: freezes a range of accounts with the shared operator key."""

from __future__ import annotations

import sys
from pathlib import Path

from node.chain.client import ChainClient, new_request_ref
from node.chain.compiler import load_artifacts
from node.chain.registry import Registry
from node.config import ANVIL_DEV_KEY


def main() -> None:
    url, lock_dir, address, first, count = sys.argv[1:6]
    client = ChainClient(url, ANVIL_DEV_KEY, lock_dir=Path(lock_dir))
    registry = Registry(client, address, load_artifacts()["CarbonRegistry"].abi)
    for account in range(int(first), int(first) + int(count)):
        registry.freeze(account, new_request_ref())


if __name__ == "__main__":
    main()

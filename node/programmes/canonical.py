"""The off-chain programme record and its SHA-256, the hash anchored on chain (issue 9).

Anyone holding the record the API shows can recompute the hash and compare it with ``getProgramme().detailsHash``:
the canonical form is JSON with keys sorted, no insignificant whitespace, UTF-8 without escapes (``ensure_ascii``
off), no floating-point numbers (decimals are strings) and no integer beyond 2^53 (large amounts are strings),
which makes it the RFC 8785 (JCS) serialisation of these values: a verifier in any language gets the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

SCHEMA = "programme-details/1"
"""Version of the record's shape; a new shape gets a new name so old hashes stay verifiable."""


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, float):
        return str(Decimal(repr(value)))  # never a float: its JSON text is not canonical across languages
    if isinstance(value, Decimal):
        return str(value)
    return value


def canonical_bytes(record: dict[str, Any]) -> bytes:
    """The bytes that are hashed."""
    return json.dumps(_plain(record), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def details_hash(record: dict[str, Any]) -> bytes:
    return hashlib.sha256(canonical_bytes(record)).digest()


def normalised(record: dict[str, Any]) -> dict[str, Any]:
    """The record as it is stored and shown: the values the hash is computed over."""
    plain: dict[str, Any] = json.loads(canonical_bytes(record))
    return plain

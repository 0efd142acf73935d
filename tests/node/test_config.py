"""Settings: safe defaults for a local node, clear refusals for unsafe or malformed configuration."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from node.config import ANVIL_DEV_KEY, Settings


def test_local_node_uses_the_anvil_development_key() -> None:
    assert Settings(_env_file=None).operator_key() == ANVIL_DEV_KEY


def test_external_chain_requires_an_operator_key() -> None:
    settings = Settings(_env_file=None, chain_rpc_url="https://chain.example")
    with pytest.raises(ValueError, match="REGISTRY_OPERATOR_KEY is required"):
        settings.operator_key()


def test_operator_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_OPERATOR_KEY", "0x" + "11" * 32)
    monkeypatch.setenv("CHAIN_RPC_URL", "https://chain.example")
    assert Settings(_env_file=None).operator_key() == "0x" + "11" * 32


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("registry_country", "Nigeria"),
        ("registry_country", "ng"),
        ("registry_country", "XX"),
        ("registry_credit_unit", "itmo"),
        ("registry_government_account", 0),
    ],
)
def test_malformed_settings_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, **{field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"api_port": 8123}, "http://127.0.0.1:8123"),
        ({"api_host": "0.0.0.0", "api_port": 9000}, "http://127.0.0.1:9000"),
        ({"api_host": "::1"}, "http://[::1]:8000"),
        ({"api_port": 8123, "public_url": "https://registry.example.gov/"}, "https://registry.example.gov"),
    ],
)
def test_public_url_follows_the_api_unless_set(overrides: dict[str, object], expected: str) -> None:
    """Issue 8: emailed links pointed at port 8000 whatever API_PORT said."""
    assert Settings(_env_file=None, **overrides).public_url == expected  # type: ignore[arg-type]


def test_no_proxy_is_trusted_by_default() -> None:
    assert Settings(_env_file=None).forwarded_allow_ips == ""

"""Node configuration: environment variables and an optional ``.env`` file (pydantic-settings).

Every setting has a default that works on a fresh machine: with no ``DATABASE_URL`` the node runs an
embedded PostgreSQL, with no ``CHAIN_RPC_URL`` a local Anvil, both under ``REGISTRY_DATA_DIR``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ANVIL_DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
"""Anvil's first well-known development key; used only when the node runs its own local Anvil."""


class Settings(BaseSettings):
    """All configuration of a registry node. Field names map to upper-case environment variables."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    registry_data_dir: Path = Path(".registry")
    """Data directory: embedded PostgreSQL cluster, Anvil state, deployment manifests, secrets."""

    database_url: str | None = None
    """SQLAlchemy URL of PostgreSQL (``postgresql+psycopg://...``). Unset: an embedded server in the data dir."""

    chain_rpc_url: str | None = None
    """JSON-RPC endpoint of the EVM chain. Unset: a local Anvil whose state persists in the data dir."""

    anvil_port: int = 8545
    """Port of the local Anvil (only when ``CHAIN_RPC_URL`` is unset)."""

    registry_operator_key: SecretStr | None = None
    """Private key of the node's operator (registrar role). Required with ``CHAIN_RPC_URL``; the local Anvil's
    development key otherwise."""

    registry_admin_address: str | None = None
    """Governance account granted the admin role (upgrades, role grants) at deployment. Default: the operator."""

    registry_pauser_address: str | None = None
    """Account granted the pauser role at deployment. Default: the operator."""

    registry_country: str = "NG"
    """ISO 3166-1 alpha-2 code of the registry's country."""

    registry_government_account: int = Field(default=1, ge=1)
    """Organisation id of the Government, which receives retirements."""

    registry_credit_unit: str = "ITMO"
    """Credit unit shown in serial numbers."""

    chain_receipt_timeout: float = 30.0
    """Seconds to wait for a transaction receipt before giving up."""

    api_host: str = "127.0.0.1"
    api_port: int = 8000

    forwarded_allow_ips: str = ""
    """Reverse proxies (comma-separated addresses or networks, or ``*``) whose ``X-Forwarded-For`` names the client.
    Empty: no proxy is trusted and the header is ignored, since any client (a local one too) could otherwise pick
    the address that login throttling counts. Set it only to the proxies in front of the node."""

    indexer_confirmations: int = Field(default=0, ge=0)
    """Blocks the indexer stays behind the head. 0 applies a mined block at once (reorgs are rolled back)."""

    indexer_finality_depth: int = Field(default=12, ge=0)
    """Rows at least this many blocks below the head are reported as confirmed."""

    indexer_poll_interval: float = Field(default=0.05, gt=0)
    """Seconds between head polls while the indexer is caught up."""

    indexer_max_range: int = Field(default=20_000, ge=1)
    """Most blocks per ``eth_getLogs`` query; the indexer halves it on errors and grows it back."""

    index_wait_seconds: float = Field(default=15.0, gt=0)
    """Seconds an API write waits, once mined, for the indexer to apply its block (so the next read shows it)
    before answering 503 with ``Retry-After``."""

    registry_government_name: str | None = None
    """Name of the Government organisation created by `registry setup` (default: "Government (<country>)")."""

    registry_root_email: str = "root@registry.local"
    """Email (login) of the single Root user created by `registry setup`."""

    registry_root_password: SecretStr | None = None
    """Root's first password. Unset: a random one is written once to <data dir>/secrets/root-password (0600)."""

    jwt_secret: SecretStr | None = None
    """Signing secret of session tokens. Unset: generated once into <data dir>/secrets/jwt-secret (0600)."""

    jwt_expires_seconds: int = Field(default=7200, ge=60)
    """Lifetime of a session token."""

    login_max_failures_per_account: int = Field(default=5, ge=1)
    """Failed logins (or wrong old passwords) for one email *from one client address* within the window before that
    address gets 429 for that account; other addresses, the owner's included, are not blocked (ADR 0009). Across all
    addresses, five times this many failures slow unfamiliar addresses down with growing delays."""

    login_max_failures_per_address: int = Field(default=20, ge=1)
    """Failed logins from one client address within the window before further attempts get 429."""

    login_window_seconds: int = Field(default=900, ge=1)

    registry_name: str = "National Carbon Registry"
    """Name of the registry in emails and pages."""

    public_url: str = ""
    """Base URL users reach the node at; links in emails (set password, reset password) start with it. Unset: the
    node's own address, ``http://<API_HOST>:<API_PORT>`` (a wildcard host becomes 127.0.0.1)."""

    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    """Largest request body (JSON, forms) the API reads; larger ones get 413 before they are buffered. The
    registry's JSON documents are a few KiB; files go through uploads (``MAX_UPLOAD_BYTES``)."""

    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    """Largest ``multipart/form-data`` request (file uploads); each kind of file has its own, smaller limit."""

    set_password_token_hours: int = Field(default=72, ge=1)
    """Validity of the set-your-password link sent to a new user."""

    reset_password_token_minutes: int = Field(default=60, ge=1)
    """Validity of a forgot-password link."""

    smtp_host: str | None = None
    """SMTP server for outgoing email. Unset (or ``EMAIL_DISABLED=true``): emails are logged, not sent."""

    smtp_port: int = 587
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    """``tls`` for implicit TLS (port 465), ``starttls`` to upgrade a plain connection, ``none`` for local relays."""

    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout: float = Field(default=10.0, gt=0)

    email_from: str = "National Carbon Registry <no-reply@registry.invalid>"
    """Sender of every email."""

    email_disabled: bool = False
    """Log emails instead of sending them (also the behaviour when ``SMTP_HOST`` is unset)."""

    email_max_attempts: int = Field(default=8, ge=1)
    """Delivery attempts (with exponential backoff) before an email is marked failed."""

    worker_poll_interval: float = Field(default=1.0, gt=0)
    """Seconds between outbox polls of the background worker."""

    storage_backend: Literal["local", "s3"] = "local"
    """Where uploaded files (logos, documents) go: a directory served by the API, or an S3 bucket."""

    storage_dir: Path | None = None
    """Directory of the local backend (default: <data dir>/files)."""

    s3_bucket: str | None = None
    s3_region: str | None = None
    s3_endpoint_url: str | None = None
    """Custom S3 endpoint (MinIO, Ceph...). Credentials come from the usual AWS environment or profile."""

    s3_public_url: str | None = None
    """Public base URL of the bucket's objects (default: the endpoint's virtual-hosted URL)."""

    location_provider: Literal["file", "mapbox"] = "file"
    """Where region names get coordinates: the shipped region file, or Mapbox geocoding."""

    mapbox_token: SecretStr | None = None
    mapbox_url: str = "https://api.mapbox.com"
    location_timeout: float = Field(default=5.0, gt=0)

    map_tile_url: str | None = None
    """Tile layer under the dashboard's maps (``https://host/{z}/{x}/{y}.png``). Unset: no tiles, the maps draw the
    shipped country outlines only (offline). Set, the dashboard's CSP lets images come from that origin."""

    map_tile_attribution: str = ""
    """Attribution text the tile provider asks for (e.g. "© OpenStreetMap contributors"), shown as plain text."""

    _token_secret: str | None = PrivateAttr(default=None)

    @field_validator("registry_country")
    @classmethod
    def _country_code(cls, value: str) -> str:
        import pycountry

        if not re.fullmatch(r"[A-Z]{2}", value) or pycountry.countries.get(alpha_2=value) is None:
            raise ValueError("must be an ISO 3166-1 alpha-2 code such as NG or KE")
        return value

    @field_validator("map_tile_url")
    @classmethod
    def _tile_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not re.fullmatch(r"https?://[A-Za-z0-9.{}-]+(:[0-9]{1,5})?/[^\s\"'<>]*", value) or not all(
            part in value for part in ("{z}", "{x}", "{y}")
        ):
            raise ValueError(
                "must be an http(s) URL with {z}, {x} and {y}, e.g. https://tile.example.org/{z}/{x}/{y}.png"
            )
        return value

    @field_validator("registry_credit_unit")
    @classmethod
    def _credit_unit(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z0-9]{1,8}", value):
            raise ValueError("must be 1-8 upper-case letters or digits")
        return value

    @model_validator(mode="after")
    def _public_url_follows_the_api(self) -> Settings:
        """Emailed links must reach this node: without ``PUBLIC_URL`` they point at the API's own host and port."""
        if not self.public_url:
            host = "127.0.0.1" if self.api_host in ("0.0.0.0", "::", "") else self.api_host
            host = f"[{host}]" if ":" in host else host
            self.public_url = f"http://{host}:{self.api_port}"
        self.public_url = self.public_url.rstrip("/")
        return self

    @property
    def data_dir(self) -> Path:
        return self.registry_data_dir.resolve()

    def token_secret(self) -> str:
        """The JWT signing secret, read (or created) once per process: every authenticated request needs it."""
        from node.security.tokens import load_or_create_secret

        if self._token_secret is None:
            if self.jwt_secret is not None:
                self._token_secret = self.jwt_secret.get_secret_value()
            else:
                self._token_secret = load_or_create_secret(self.data_dir / "secrets" / "jwt-secret")
        return self._token_secret

    @property
    def files_dir(self) -> Path:
        return (self.storage_dir or self.data_dir / "files").resolve()

    @property
    def sends_email(self) -> bool:
        return self.smtp_host is not None and not self.email_disabled

    def operator_key(self) -> str:
        """The operator's private key; the Anvil development key only for a node-managed local chain."""
        if self.registry_operator_key is not None:
            return self.registry_operator_key.get_secret_value()
        if self.chain_rpc_url is None:
            return ANVIL_DEV_KEY
        raise ValueError("REGISTRY_OPERATOR_KEY is required when CHAIN_RPC_URL points at an external chain")


@lru_cache
def get_settings() -> Settings:
    return Settings()

"""API fixtures: settings in a temporary data dir, an empty app schema, and the app bound to the test chain."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from api.app import create_app
from node.chain.client import ChainClient
from node.chain.deployment import Deployment
from node.chain.registry import Registry
from node.config import Settings
from node.context import NodeContext

APP_TABLES = (
    "app.credit_transfer, app.credit_retirement, app.programme_change, app.programme_detail, app.calculator_constants, "
    "app.login_attempt, app.email_outbox, app.audit_event, app.api_key, app.password_token, "
    "app.user_account, app.organisation"
)


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    values = {"registry_data_dir": data_dir, "registry_country": "NG", "public_url": "http://testserver"}
    return Settings.model_validate(values | overrides)


def empty_app(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text(f"truncate {APP_TABLES} restart identity cascade"))
        conn.execute(text("alter sequence app.organisation_id_seq restart"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def empty_app_schema(engine: Engine) -> None:
    empty_app(engine)


@pytest.fixture
def api(settings: Settings, engine: Engine, client: ChainClient, deployment: Deployment, registry: Registry,
        empty_app_schema: None) -> Iterator[TestClient]:  # fmt: skip
    with TestClient(create_app(NodeContext(settings, engine, client, deployment, registry))) as test_client:
        yield test_client

"""The ``app`` schema: what is not on chain (ADR 0003). Organisations are chain accounts by id."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, DateTime, ForeignKey, Index, Table, Text, text

from node.db.engine import app_metadata as metadata

organisation = Table(
    "organisation",
    metadata,
    Column("organisation_id", BigInteger, primary_key=True, comment="Also its on-chain account id"),
    Column("name", Text, nullable=False),
    Column("role", Text, nullable=False, comment="Government | ProgrammeDeveloper | Certifier | API | ..."),
    Column("state", Text, nullable=False, server_default="active", comment="active | suspended"),
    Column("country", Text, nullable=False),
    Column("tax_id", Text, nullable=True, unique=True),
    Column("email", Text, nullable=True, unique=True),
    Column("phone", Text, nullable=True),
    Column("website", Text, nullable=True),
    Column("address", Text, nullable=True),
    Column("remarks", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Index("uq_organisation_government", "role", unique=True, postgresql_where=text("role = 'Government'")),
)

login_attempt = Table(
    "login_attempt",
    metadata,
    Column("attempt_id", BigInteger, primary_key=True, autoincrement=True),
    Column("email", Text, nullable=False),
    Column("address", Text, nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Index("ix_login_attempt_email", "email", "at"),
    Index("ix_login_attempt_address", "address", "at"),
    comment="Login attempts, for rate limiting per account and per address across API processes",
)

user_account = Table(
    "user_account",
    metadata,
    Column("user_id", BigInteger, primary_key=True, autoincrement=True),
    Column("email", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("role", Text, nullable=False, comment="Root | Admin | Manager | ViewOnly"),
    Column("organisation_id", BigInteger, ForeignKey("app.organisation.organisation_id"), nullable=False),
    Column("password_hash", Text, nullable=True, comment="Argon2id; null until the user sets a password"),
    Column("must_change_password", Boolean, nullable=False, server_default="false"),
    Column("language", Text, nullable=False, server_default="en"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("password_changed_at", DateTime(timezone=True), nullable=True),
    Index("ix_user_account_organisation", "organisation_id"),
    Index("uq_user_account_root", "role", unique=True, postgresql_where=text("role = 'Root'")),
)

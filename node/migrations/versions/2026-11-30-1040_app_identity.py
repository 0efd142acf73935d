"""Organisations and users (app schema): the Government organisation and the single Root user first.

Revision ID: 0004_app_identity
Revises: 0003_owner_totals
Create Date: 2026-11-30 10:40
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_app_identity"
down_revision = "0003_owner_totals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organisation",
        sa.Column(
            "organisation_id", sa.BigInteger(), nullable=False, comment="Also the organisation's on-chain account id"
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False, comment="Government | ProgrammeDeveloper | Certifier | API | ..."),
        sa.Column("state", sa.Text(), server_default="active", nullable=False, comment="active | suspended"),
        sa.Column("country", sa.Text(), nullable=False),
        sa.Column("tax_id", sa.Text(), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("website", sa.Text(), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("remarks", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("organisation_id", name=op.f("pk_organisation")),
        sa.UniqueConstraint("email", name=op.f("uq_organisation_email")),
        sa.UniqueConstraint("tax_id", name=op.f("uq_organisation_tax_id")),
        schema="app",
    )
    op.create_index("uq_organisation_government", "organisation", ["role"], unique=True, schema="app",
                    postgresql_where=sa.text("role = 'Government'"))  # fmt: skip
    op.create_table(
        "user_account",
        sa.Column("user_id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False, comment="Root | Admin | Manager | ViewOnly"),
        sa.Column("organisation_id", sa.BigInteger(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True, comment="Argon2id; null until the user sets a password"),
        sa.Column("must_change_password", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("language", sa.Text(), server_default="en", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["app.organisation.organisation_id"],
            name=op.f("fk_user_account_organisation_id_organisation"),
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_account")),
        sa.UniqueConstraint("email", name=op.f("uq_user_account_email")),
        schema="app",
    )
    op.create_index("ix_user_account_organisation", "user_account", ["organisation_id"], schema="app")
    op.create_index("uq_user_account_root", "user_account", ["role"], unique=True, schema="app",
                    postgresql_where=sa.text("role = 'Root'"))  # fmt: skip


def downgrade() -> None:
    op.drop_table("user_account", schema="app")
    op.drop_table("organisation", schema="app")

"""Programmes (issue 9): off-chain details with their anchored hash, programme writes as intents, calculator
constants by version.

Revision ID: 0008_programmes
Revises: 0007_hardening
Create Date: 2026-11-30 22:30
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008_programmes"
down_revision = "0007_hardening"
branch_labels = None
depends_on = None


def upgrade() -> None:
    comment = "SHA-256 of the off-chain details, as anchored"
    op.add_column("programme", sa.Column("details_hash", sa.LargeBinary(), nullable=True, comment=comment),
                  schema="chain")  # fmt: skip
    op.create_table(
        "calculator_constants",
        sa.Column("version", sa.BigInteger(), autoincrement=True, nullable=False, comment="Recorded by each programme"),
        sa.Column(
            "methodology", sa.Text(), nullable=False, comment="A calculator methodology, e.g. agriculture, solar"
        ),  # fmt: skip
        sa.Column("constants", postgresql.JSONB(), nullable=False),
        sa.Column(
            "created_by",
            postgresql.JSONB(),
            nullable=True,
            comment="The Government user who set them; null for the defaults",
        ),  # fmt: skip
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("version"),
        schema="app",
        comment="Versions of the credit calculator's constants; the latest per methodology applies (reference §8)",
    )
    op.create_index("ix_calculator_constants_methodology", "calculator_constants", ["methodology", "version"],
                    schema="app")  # fmt: skip
    op.create_table(
        "programme_detail",
        sa.Column("programme_id", sa.BigInteger(), nullable=False, comment="The programme's id on chain"),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column(
            "details",
            postgresql.JSONB(),
            nullable=False,
            comment="The off-chain record whose SHA-256 is anchored on chain",
        ),  # fmt: skip
        sa.Column(
            "details_hash", sa.LargeBinary(), nullable=False, comment="SHA-256 of the canonical form of details"
        ),  # fmt: skip
        sa.Column("revision", sa.Integer(), server_default="1", nullable=False, comment="Anchored revisions so far"),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("programme_id"),
        schema="app",
        comment="Programme fields that are not credit-relevant (title, properties, calculator inputs, materials)",
    )
    op.create_index("ix_programme_detail_title", "programme_detail", [sa.text("lower(title)")], schema="app")
    op.create_table(
        "programme_change",
        sa.Column("change_id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column(
            "operation",
            sa.Text(),
            nullable=False,
            comment="create | authorise | reject | issue | certify | revoke | details",
        ),  # fmt: skip
        sa.Column("programme_id", sa.BigInteger(), nullable=True, comment="Null for a create until it is on chain"),
        sa.Column("idempotency_scope", sa.Text(), nullable=True, comment="Whose key: user:<id> or api-key:<id>"),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.Column("request_hash", sa.LargeBinary(), nullable=False, comment="SHA-256 of the validated request"),
        sa.Column("request_ref", sa.LargeBinary(), nullable=False, comment="The chain request reference (random)"),
        sa.Column("payload", postgresql.JSONB(), nullable=False, comment="The validated request"),
        sa.Column("requested_by", postgresql.JSONB(), nullable=True, comment="The authorised caller (Principal)"),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False, comment="pending | done | failed"),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "result", postgresql.JSONB(), nullable=True, comment="The answer, given again to a retry with the same key"
        ),  # fmt: skip
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("change_id"),
        sa.UniqueConstraint("request_ref", name=op.f("uq_programme_change_request_ref")),
        schema="app",
        comment="Programme writes: committed before their chain write (ADR 0010) and kept as the idempotency record",
    )
    op.create_index("uq_programme_change_idempotency", "programme_change",
                    ["idempotency_scope", "operation", "idempotency_key"], unique=True, schema="app",
                    postgresql_where=sa.text("idempotency_key is not null"))  # fmt: skip
    op.create_index("ix_programme_change_programme", "programme_change", ["programme_id", "change_id"], schema="app")
    # One details change of a programme at a time: each builds on the revision before it (its hash is anchored).
    op.create_index("uq_programme_change_details_pending", "programme_change", ["programme_id"], unique=True,
                    schema="app", postgresql_where=sa.text("operation = 'details' and status = 'pending'"))  # fmt: skip
    op.create_index("ix_programme_change_pending", "programme_change", ["created_at"], schema="app",
                    postgresql_where=sa.text("status = 'pending'"))  # fmt: skip


def downgrade() -> None:
    op.drop_table("programme_change", schema="app")
    op.drop_table("programme_detail", schema="app")
    op.drop_table("calculator_constants", schema="app")
    op.drop_column("programme", "details_hash", schema="chain")

"""Credit retirements and retirement requests (issue 10); every part of a split move keeps its transaction.

Revision ID: 0010_credit_retirements
Revises: 0009_credit_transfers
Create Date: 2026-12-01 01:30
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010_credit_retirements"
down_revision = "0009_credit_transfers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credit_retirement",
        sa.Column("retirement_id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("programme_id", sa.BigInteger(), nullable=False),
        sa.Column("from_account", sa.BigInteger(), nullable=False, comment="The holder whose credits are retired"),
        sa.Column("retirement_type", sa.Text(), nullable=False, comment="cross_border | legal_action | other"),
        sa.Column("country", sa.Text(), nullable=True, comment="Receiving country (cross-border), ISO alpha-2"),
        sa.Column("beneficiary", sa.Text(), nullable=True, comment="Receiving organisation (cross-border)"),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("omge_bps", sa.Integer(), nullable=False, comment="The OMGE rate the request was made at"),
        sa.Column("omge_amount", sa.BigInteger(), nullable=False, comment="Credits retired into the OMGE account"),
        sa.Column(
            "state",
            sa.Text(),
            nullable=False,
            comment="pending (awaiting the Government) | executing | recognised | retired (by the Government) | "
            "not_recognised | cancelled | failed",
        ),  # fmt: skip
        sa.Column("initiated_by", postgresql.JSONB(), nullable=False, comment="The caller who asked (Principal)"),
        sa.Column("initiator_organisation_id", sa.BigInteger(), nullable=False),
        sa.Column("remarks", sa.Text(), nullable=True),
        sa.Column("decided_by", postgresql.JSONB(), nullable=True, comment="Who decided; null for the system"),
        sa.Column("decision_remarks", sa.Text(), nullable=True),
        sa.Column("change_id", sa.BigInteger(), nullable=True, comment="The programme_change that retires on chain"),
        sa.Column("chain_retirement_ids", postgresql.JSONB(), nullable=True, comment="getRetirement ids, one per call"),
        sa.Column("tx_hashes", postgresql.JSONB(), nullable=True, comment="Every chain transaction, in order"),
        sa.Column("block_number", sa.BigInteger(), nullable=True, comment="Block of the last transaction"),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("retirement_id"),
        schema="app",
        comment="Credit retirements and retirement requests (reference §6.4); the chain write is a programme_change",
    )
    op.create_index("ix_credit_retirement_pending", "credit_retirement", ["programme_id", "from_account"],
                    schema="app", postgresql_where=sa.text("state = 'pending'"))  # fmt: skip
    op.create_index("ix_credit_retirement_from", "credit_retirement", ["from_account", "retirement_id"], schema="app")
    op.add_column("credit_transfer", sa.Column("tx_hashes", postgresql.JSONB(), nullable=True,
                                               comment="Every chain transaction, in order"), schema="app")  # fmt: skip


def downgrade() -> None:
    op.drop_column("credit_transfer", "tx_hashes", schema="app")
    op.drop_table("credit_retirement", schema="app")

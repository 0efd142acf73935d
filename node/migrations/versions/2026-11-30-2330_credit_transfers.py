"""Credit transfers and transfer requests (issue 10).

Revision ID: 0009_credit_transfers
Revises: 0008_programmes
Create Date: 2026-11-30 23:30
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009_credit_transfers"
down_revision = "0008_programmes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credit_transfer",
        sa.Column("transfer_id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("programme_id", sa.BigInteger(), nullable=False),
        sa.Column("from_account", sa.BigInteger(), nullable=False, comment="Sending organisation (its chain account)"),
        sa.Column("to_account", sa.BigInteger(), nullable=False, comment="Receiving organisation (its chain account)"),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column(
            "state",
            sa.Text(),
            nullable=False,
            comment="pending (awaiting the sender) | approved (executed on approval) | executed (sent by the "
            "holder) | rejected | cancelled",
        ),  # fmt: skip
        sa.Column("initiated_by", postgresql.JSONB(), nullable=False, comment="The caller who asked (Principal)"),
        sa.Column("initiator_organisation_id", sa.BigInteger(), nullable=False),
        sa.Column("remarks", sa.Text(), nullable=True),
        sa.Column(
            "decided_by",
            postgresql.JSONB(),
            nullable=True,
            comment="Who approved, rejected or cancelled; null for the system",
        ),  # fmt: skip
        sa.Column("decision_remarks", sa.Text(), nullable=True),
        sa.Column(
            "change_id", sa.BigInteger(), nullable=True, comment="The programme_change that executes it on chain"
        ),  # fmt: skip
        sa.Column("tx_hash", sa.LargeBinary(), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("transfer_id"),
        schema="app",
        comment="Credit transfers and transfer requests (reference §6.2-6.3); the chain write is a programme_change",
    )
    op.create_index("ix_credit_transfer_pending", "credit_transfer", ["programme_id", "from_account"], schema="app",
                    postgresql_where=sa.text("state = 'pending'"))  # fmt: skip
    op.create_index("ix_credit_transfer_from", "credit_transfer", ["from_account", "transfer_id"], schema="app")
    op.create_index("ix_credit_transfer_to", "credit_transfer", ["to_account", "transfer_id"], schema="app")


def downgrade() -> None:
    op.drop_table("credit_transfer", schema="app")

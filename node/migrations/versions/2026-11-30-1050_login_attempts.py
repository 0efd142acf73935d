"""Login attempts, for rate limiting per account and per client address.

Revision ID: 0005_login_attempts
Revises: 0004_app_identity
Create Date: 2026-11-30 10:50
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_login_attempts"
down_revision = "0004_app_identity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_attempt",
        sa.Column("attempt_id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("attempt_id", name=op.f("pk_login_attempt")),
        schema="app",
        comment="Login attempts, for rate limiting per account and per address across API processes",
    )
    op.create_index("ix_login_attempt_email", "login_attempt", ["email", "at"], schema="app")
    op.create_index("ix_login_attempt_address", "login_attempt", ["address", "at"], schema="app")


def downgrade() -> None:
    op.drop_table("login_attempt", schema="app")

"""Create the `chain` (indexer projections) and `app` (off-chain data) schemas.

Revision ID: 0001_schemas
Revises:
Create Date: 2026-11-30 09:00
"""

from alembic import op

revision = "0001_schemas"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("create schema if not exists app")
    op.execute("create schema if not exists chain")


def downgrade() -> None:
    op.execute("drop schema if exists chain cascade")

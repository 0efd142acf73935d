"""Sequenced request references for the node's writes (ADR 0015): a random namespace per database, and a sequence.

Two consecutive references share one storage word on chain, which saves about 10,700 gas per write. The namespace
is drawn here, once per database: a database rebuilt from scratch against the same chain gets a new one, so its
restarted sequence can never name an earlier write.

Revision ID: 0011_sequenced_request_refs
Revises: 0010_credit_retirements
Create Date: 2026-12-01 02:15
"""

import os

import sqlalchemy as sa
from alembic import op

revision = "0011_sequenced_request_refs"
down_revision = "0010_credit_retirements"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "request_namespace",
        sa.Column("namespace", sa.LargeBinary(), nullable=False),
        sa.Column("singleton", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.PrimaryKeyConstraint("singleton", name="pk_request_namespace"),
        sa.CheckConstraint("singleton", name="ck_request_namespace_singleton"),
        sa.CheckConstraint("length(namespace) = 16", name="ck_request_namespace_length"),
        schema="app",
        comment="The 16 random bytes of this database's sequenced request references (one row)",
    )
    op.bulk_insert(table, [{"namespace": os.urandom(16), "singleton": True}])
    op.execute("create sequence app.request_ref_seq as bigint minvalue 0 start 0")


def downgrade() -> None:
    op.execute("drop sequence app.request_ref_seq")
    op.drop_table("request_namespace", schema="app")

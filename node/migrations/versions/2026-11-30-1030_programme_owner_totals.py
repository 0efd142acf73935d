"""Per-owner totals of each programme (issued, held, transferred, retired, frozen), as the reference's arrays.

Revision ID: 0003_owner_totals
Revises: 0002_chain_projections
Create Date: 2026-11-30 10:30
"""

from alembic import op

revision = "0003_owner_totals"
down_revision = "0002_chain_projections"
branch_labels = None
depends_on = None

OWNER_TOTALS_VIEW = """
create view chain.programme_owner_totals as
select o.programme_id,
       o.position,
       o.account_id,
       o.share_ppm,
       coalesce(h.issued, 0)::numeric(20, 0) as issued,
       coalesce(h.balance, 0)::numeric(20, 0) as held,
       coalesce(h.transferred, 0)::numeric(20, 0) as transferred,
       coalesce(h.retired, 0)::numeric(20, 0) as retired,
       (case when a.frozen then coalesce(h.balance, 0) else 0 end)::numeric(20, 0) as frozen
from chain.programme_owner o
left join chain.holding h on h.programme_id = o.programme_id and h.account_id = o.account_id
left join chain.account a on a.account_id = o.account_id
"""


def upgrade() -> None:
    op.execute(OWNER_TOTALS_VIEW)


def downgrade() -> None:
    op.execute("drop view if exists chain.programme_owner_totals")

"""Analytics summaries (issue 11, ADR 0018): per-programme facts and monthly cells, kept by triggers.

Why triggers: the indexer writes projections in bulk upserts, a reorg deletes programmes (cascading to their
certifications) and replays them, and ``--rebuild`` truncates. A row trigger on each source table keeps the
summaries exact on every one of those paths, in the same transaction as the rows themselves, whatever the order in
which PostgreSQL fires the triggers of one statement: each trigger subtracts a programme's contribution as it was,
changes its fact row, and adds the new contribution, so ``programme_month`` always equals the sum of the counted
facts. ``chain.stats_rebuild()`` recomputes both from scratch (the backfill below, and bulk loads).

- ``chain.programme.created_at``: the block time of ``ProgrammeCreated`` (the reference's ``createdTime``).
- ``chain.retirement.block_time``: when it was retired (the reference's ``txTime``).
- ``chain.programme_fact``: one row per programme: time, stage, sector, estimate, issued, retired, the volume of
  its transfers, and how many certifiers certify it or revoked. ``counted`` is false while the programme row is
  absent (during a reorg's replay), when the transfer and certification tallies must survive.
- ``chain.programme_month``: the same sums per UTC month, stage and sector. Statistics read whole months here and
  the partial months at the ends of a time range from the facts.
- ``ix_event_name_block``: the latest event of given kinds, for each statistic's "last updated".

Revision ID: 0012_analytics_summaries
Revises: 0011_sequenced_request_refs
Create Date: 2026-12-01 05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_analytics_summaries"
down_revision = "0011_sequenced_request_refs"
branch_labels = None
depends_on = None

SUMS = ("credit_estimate", "credit_issued", "credit_retired", "credit_transferred")

FUNCTIONS = """
create function chain.stats_contribute(f chain.programme_fact, sign integer) returns void
language plpgsql as $$
declare
    certified boolean := f.certifiers > 0;
    revoked boolean := f.certifiers = 0 and f.revocations > 0;
    cell_month date;
begin
    if not f.counted then
        return;
    end if;
    cell_month := date_trunc('month', f.created_at at time zone 'UTC')::date;
    insert into chain.programme_month as m (month, stage, sector, programmes, credit_estimate, credit_issued,
        credit_retired, credit_transferred, certified_programmes, certified_estimate, revoked_programmes,
        revoked_estimate)
    values (cell_month, f.stage, f.sector, sign, sign * f.credit_estimate, sign * f.credit_issued,
        sign * f.credit_retired, sign * f.credit_transferred,
        case when certified then sign else 0 end, case when certified then sign * f.credit_estimate else 0 end,
        case when revoked then sign else 0 end, case when revoked then sign * f.credit_estimate else 0 end)
    on conflict (month, stage, sector) do update set
        programmes = m.programmes + excluded.programmes,
        credit_estimate = m.credit_estimate + excluded.credit_estimate,
        credit_issued = m.credit_issued + excluded.credit_issued,
        credit_retired = m.credit_retired + excluded.credit_retired,
        credit_transferred = m.credit_transferred + excluded.credit_transferred,
        certified_programmes = m.certified_programmes + excluded.certified_programmes,
        certified_estimate = m.certified_estimate + excluded.certified_estimate,
        revoked_programmes = m.revoked_programmes + excluded.revoked_programmes,
        revoked_estimate = m.revoked_estimate + excluded.revoked_estimate;
    delete from chain.programme_month
    where month = cell_month and stage = f.stage and sector = f.sector and programmes = 0;
end $$;

create function chain.stats_fact(pid bigint) returns chain.programme_fact
language plpgsql as $$
declare
    f chain.programme_fact;
begin
    select * into f from chain.programme_fact where programme_id = pid for update;
    if not found then
        insert into chain.programme_fact (programme_id) values (pid) returning * into f;
    end if;
    return f;
end $$;

create function chain.stats_on_programme() returns trigger
language plpgsql as $$
declare
    f chain.programme_fact := chain.stats_fact(coalesce(new.programme_id, old.programme_id));
begin
    perform chain.stats_contribute(f, -1);
    if tg_op = 'DELETE' then
        update chain.programme_fact set counted = false where programme_id = old.programme_id;
    else
        update chain.programme_fact set counted = true, created_at = new.created_at, stage = new.stage,
            sector = new.sector, credit_estimate = new.credit_estimate, credit_issued = new.credit_issued,
            credit_retired = new.credit_retired
        where programme_id = new.programme_id returning * into f;
        perform chain.stats_contribute(f, 1);
    end if;
    return null;
end $$;

create function chain.stats_on_transfer() returns trigger
language plpgsql as $$
declare
    pid bigint := coalesce(new.programme_id, old.programme_id);
    delta numeric := case when tg_op = 'INSERT' then new.amount else -old.amount end;
    f chain.programme_fact := chain.stats_fact(pid);
begin
    perform chain.stats_contribute(f, -1);
    update chain.programme_fact set credit_transferred = credit_transferred + delta
    where programme_id = pid returning * into f;
    perform chain.stats_contribute(f, 1);
    return null;
end $$;

create function chain.stats_on_certifier() returns trigger
language plpgsql as $$
declare
    pid bigint := coalesce(new.programme_id, old.programme_id);
    certifiers_delta integer := 0;
    revocations_delta integer := 0;
    f chain.programme_fact := chain.stats_fact(pid);
begin
    if tg_op in ('UPDATE', 'DELETE') then
        if old.certified then certifiers_delta := -1; else revocations_delta := -1; end if;
    end if;
    if tg_op in ('INSERT', 'UPDATE') then
        if new.certified then
            certifiers_delta := certifiers_delta + 1;
        else
            revocations_delta := revocations_delta + 1;
        end if;
    end if;
    perform chain.stats_contribute(f, -1);
    update chain.programme_fact set certifiers = certifiers + certifiers_delta,
        revocations = revocations + revocations_delta
    where programme_id = pid returning * into f;
    perform chain.stats_contribute(f, 1);
    return null;
end $$;

create function chain.stats_rebuild() returns void
language plpgsql as $$
begin
    delete from chain.programme_month;
    delete from chain.programme_fact;
    insert into chain.programme_fact (programme_id, counted, created_at, stage, sector, credit_estimate,
        credit_issued, credit_retired, credit_transferred, certifiers, revocations)
    select p.programme_id, true, p.created_at, p.stage, p.sector, p.credit_estimate, p.credit_issued,
        p.credit_retired, coalesce(t.amount, 0), coalesce(c.certifiers, 0), coalesce(c.revocations, 0)
    from chain.programme p
    left join (select programme_id, sum(amount) as amount from chain.transfer group by programme_id) t
        using (programme_id)
    left join (select programme_id, count(*) filter (where certified) as certifiers,
                      count(*) filter (where not certified) as revocations
               from chain.programme_certifier group by programme_id) c using (programme_id);
    -- transfers of programmes whose row is absent are kept, as the triggers would keep them
    insert into chain.programme_fact (programme_id, credit_transferred)
    select t.programme_id, sum(t.amount) from chain.transfer t
    where not exists (select 1 from chain.programme p where p.programme_id = t.programme_id)
    group by t.programme_id;
    insert into chain.programme_month (month, stage, sector, programmes, credit_estimate, credit_issued,
        credit_retired, credit_transferred, certified_programmes, certified_estimate, revoked_programmes,
        revoked_estimate)
    select date_trunc('month', created_at at time zone 'UTC')::date, stage, sector, count(*),
        sum(credit_estimate), sum(credit_issued), sum(credit_retired), sum(credit_transferred),
        count(*) filter (where certifiers > 0), coalesce(sum(credit_estimate) filter (where certifiers > 0), 0),
        count(*) filter (where certifiers = 0 and revocations > 0),
        coalesce(sum(credit_estimate) filter (where certifiers = 0 and revocations > 0), 0)
    from chain.programme_fact where counted
    group by 1, 2, 3;
end $$;

create trigger stats_programme_written after insert or delete on chain.programme
    for each row execute function chain.stats_on_programme();
create trigger stats_programme_changed after update on chain.programme
    for each row when (old.stage is distinct from new.stage or old.sector is distinct from new.sector
        or old.created_at is distinct from new.created_at or old.credit_estimate is distinct from new.credit_estimate
        or old.credit_issued is distinct from new.credit_issued
        or old.credit_retired is distinct from new.credit_retired)
    execute function chain.stats_on_programme();
create trigger stats_transfer_written after insert or delete on chain.transfer
    for each row execute function chain.stats_on_transfer();
create trigger stats_certifier_written after insert or delete on chain.programme_certifier
    for each row execute function chain.stats_on_certifier();
create trigger stats_certifier_changed after update on chain.programme_certifier
    for each row when (old.certified is distinct from new.certified)
    execute function chain.stats_on_certifier();
"""

DROP = """
drop trigger if exists stats_certifier_changed on chain.programme_certifier;
drop trigger if exists stats_certifier_written on chain.programme_certifier;
drop trigger if exists stats_transfer_written on chain.transfer;
drop trigger if exists stats_programme_changed on chain.programme;
drop trigger if exists stats_programme_written on chain.programme;
drop function if exists chain.stats_rebuild();
drop function if exists chain.stats_on_certifier();
drop function if exists chain.stats_on_transfer();
drop function if exists chain.stats_on_programme();
drop function if exists chain.stats_fact(bigint);
drop function if exists chain.stats_contribute(chain.programme_fact, integer);
"""


def _amount(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.Numeric(), server_default="0", nullable=False)


def upgrade() -> None:
    op.add_column("programme", sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                                         nullable=False, comment="Block time of ProgrammeCreated"),
                  schema="chain")  # fmt: skip
    op.execute("""
        update chain.programme p set created_at = e.block_time
        from chain.event e
        where e.name = 'ProgrammeCreated' and e.programme_id = p.programme_id and e.block_time is not null
    """)
    op.create_index("ix_programme_created_at", "programme", ["created_at"], schema="chain")
    op.add_column("retirement", sa.Column("block_time", sa.DateTime(timezone=True), nullable=True), schema="chain")
    op.execute("""
        update chain.retirement r set block_time = e.block_time
        from chain.event e where e.tx_hash = r.tx_hash and e.log_index = r.log_index
    """)
    op.create_index("ix_retirement_country", "retirement", ["retirement_type", "country"], schema="chain")
    op.create_index("ix_event_name_block", "event", ["name", "block_number"], schema="chain")
    op.create_index("ix_account_frozen", "account", ["account_id"], schema="chain",
                    postgresql_where=sa.text("frozen"))  # fmt: skip
    op.create_table(
        "programme_fact",
        sa.Column("programme_id", sa.BigInteger(), nullable=False),
        sa.Column("counted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stage", sa.Text(), nullable=True),
        sa.Column("sector", sa.Text(), nullable=True),
        *(_amount(name) for name in SUMS),
        sa.Column("certifiers", sa.Integer(), server_default="0", nullable=False),
        sa.Column("revocations", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("programme_id", name="pk_programme_fact"),
        schema="chain",
        comment="Per programme: what it adds to programme_month (kept by triggers; chain.stats_rebuild())",
    )
    op.create_index("ix_programme_fact_created_at", "programme_fact", ["created_at"], schema="chain",
                    postgresql_where=sa.text("counted"))  # fmt: skip
    op.create_table(
        "programme_month",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("stage", sa.Text(), nullable=False),
        sa.Column("sector", sa.Text(), nullable=False),
        sa.Column("programmes", sa.BigInteger(), nullable=False),
        *(_amount(name) for name in SUMS),
        sa.Column("certified_programmes", sa.BigInteger(), server_default="0", nullable=False),
        _amount("certified_estimate"),
        sa.Column("revoked_programmes", sa.BigInteger(), server_default="0", nullable=False),
        _amount("revoked_estimate"),
        sa.PrimaryKeyConstraint("month", "stage", "sector", name="pk_programme_month"),
        schema="chain",
        comment="Programme sums per UTC month of creation, stage and sector (kept by triggers)",
    )
    op.execute(FUNCTIONS)
    op.execute("select chain.stats_rebuild()")


def downgrade() -> None:
    op.execute(DROP)
    op.drop_table("programme_month", schema="chain")
    op.drop_index("ix_programme_fact_created_at", table_name="programme_fact", schema="chain")
    op.drop_table("programme_fact", schema="chain")
    op.drop_index("ix_account_frozen", table_name="account", schema="chain")
    op.drop_index("ix_event_name_block", table_name="event", schema="chain")
    op.drop_index("ix_retirement_country", table_name="retirement", schema="chain")
    op.drop_column("retirement", "block_time", schema="chain")
    op.drop_index("ix_programme_created_at", table_name="programme", schema="chain")
    op.drop_column("programme", "created_at", schema="chain")

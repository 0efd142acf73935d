"""Analytics summaries (issue 11, ADR 0018): per-programme facts and monthly cells, kept by triggers.

Why triggers: the indexer writes projections in bulk upserts, a reorg deletes programmes (cascading to their
certifications) and replays them, and ``--rebuild`` truncates. A trigger on each source table keeps the summaries
exact on every one of those paths, in the same transaction as the rows themselves, whatever the order in which
PostgreSQL fires them: each subtracts the touched programmes' contributions as they were, changes their fact rows,
and adds the new contributions, so ``programme_month`` always equals the sum of the counted facts. They are
statement-level triggers with transition tables: the indexer writes a batch of thousands of events with one
statement per table, and a row trigger would update the same hot cell thousands of times in one transaction
(each update walking the row's growing version chain: the indexer ran ten times slower).
``chain.stats_rebuild()`` recomputes both from scratch (the backfill below, and bulk loads).

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

SUMS = ("credit_estimate", "credit_issued", "credit_retired", "credit_transferred", "credit_frozen")

FUNCTIONS = """
create function chain.stats_ensure(ids bigint[]) returns void
language sql as $$
    insert into chain.programme_fact (programme_id) select unnest(ids) on conflict do nothing;
$$;

create function chain.stats_cells(ids bigint[], sign integer) returns void
language sql as $$
    insert into chain.programme_month as m (month, stage, sector, programmes, credit_estimate, credit_issued,
        credit_retired, credit_transferred, credit_frozen, certified_programmes, certified_estimate,
        revoked_programmes, revoked_estimate)
    select date_trunc('month', created_at at time zone 'UTC')::date, stage, sector, sign * count(*),
        sign * sum(credit_estimate), sign * sum(credit_issued), sign * sum(credit_retired),
        sign * sum(credit_transferred), sign * sum(credit_frozen), sign * count(*) filter (where certifiers > 0),
        sign * coalesce(sum(credit_estimate) filter (where certifiers > 0), 0),
        sign * count(*) filter (where certifiers = 0 and revocations > 0),
        sign * coalesce(sum(credit_estimate) filter (where certifiers = 0 and revocations > 0), 0)
    from chain.programme_fact where programme_id = any(ids) and counted
    group by 1, 2, 3
    on conflict (month, stage, sector) do update set
        programmes = m.programmes + excluded.programmes,
        credit_estimate = m.credit_estimate + excluded.credit_estimate,
        credit_issued = m.credit_issued + excluded.credit_issued,
        credit_retired = m.credit_retired + excluded.credit_retired,
        credit_transferred = m.credit_transferred + excluded.credit_transferred,
        credit_frozen = m.credit_frozen + excluded.credit_frozen,
        certified_programmes = m.certified_programmes + excluded.certified_programmes,
        certified_estimate = m.certified_estimate + excluded.certified_estimate,
        revoked_programmes = m.revoked_programmes + excluded.revoked_programmes,
        revoked_estimate = m.revoked_estimate + excluded.revoked_estimate;
    delete from chain.programme_month m
    using (select distinct date_trunc('month', created_at at time zone 'UTC')::date as month, stage, sector
           from chain.programme_fact where programme_id = any(ids) and counted) c
    where m.month = c.month and m.stage = c.stage and m.sector = c.sector and m.programmes = 0;
$$;

create function chain.stats_programmes_set(ids bigint[], located bigint[]) returns void
language plpgsql as $$
begin
    perform chain.stats_cells(ids, -1);
    update chain.programme_fact f set counted = p.programme_id is not null, created_at = p.created_at,
        stage = p.stage, sector = p.sector, credit_estimate = coalesce(p.credit_estimate, 0),
        credit_issued = coalesce(p.credit_issued, 0), credit_retired = coalesce(p.credit_retired, 0)
    from unnest(ids) as i(programme_id) left join chain.programme p on p.programme_id = i.programme_id
    where f.programme_id = i.programme_id;
    perform chain.stats_cells(ids, 1);
    if located is not null then
        perform chain.stats_locations(located);
    end if;
end $$;

create function chain.stats_on_programme_insert() returns trigger
language plpgsql as $$
declare
    ids bigint[] := (select array_agg(programme_id) from new_rows);
begin
    if ids is not null then
        perform chain.stats_ensure(ids);
        perform chain.stats_programmes_set(ids, ids);
    end if;
    return null;
end $$;

create function chain.stats_on_programme_update() returns trigger
language plpgsql as $$
declare
    ids bigint[] := (
        select array_agg(n.programme_id) from new_rows n join old_rows o using (programme_id)
        where (o.stage, o.sector, o.created_at, o.credit_estimate, o.credit_issued, o.credit_retired)
            is distinct from (n.stage, n.sector, n.created_at, n.credit_estimate, n.credit_issued, n.credit_retired));
    located bigint[] := (
        select array_agg(n.programme_id) from new_rows n join old_rows o using (programme_id)
        where (o.stage, o.created_at) is distinct from (n.stage, n.created_at));
begin
    if ids is not null then
        perform chain.stats_ensure(ids);
        perform chain.stats_programmes_set(ids, located);
    end if;
    return null;
end $$;

create function chain.stats_on_programme_delete() returns trigger
language plpgsql as $$
declare
    ids bigint[] := (select array_agg(programme_id) from old_rows);
begin
    if ids is not null then
        perform chain.stats_programmes_set(ids, ids);  -- the rows are gone: counted becomes false
    end if;
    return null;
end $$;

create function chain.stats_tally(deltas jsonb) returns void
language plpgsql as $$
declare
    ids bigint[];
    transferred numeric[];
    certified integer[];
    revoked integer[];
    frozen numeric[];
begin
    select array_agg(p), array_agg(t), array_agg(c), array_agg(r), array_agg(z)
    into ids, transferred, certified, revoked, frozen
    from (select (d->>0)::bigint as p, sum((d->>1)::numeric) as t, sum((d->>2)::int) as c,
                 sum((d->>3)::int) as r, sum((d->>4)::numeric) as z
          from jsonb_array_elements(deltas) d group by 1) g
    where (t, c, r, z) <> (0, 0, 0, 0);
    if ids is null then
        return;
    end if;
    perform chain.stats_ensure(ids);
    perform chain.stats_cells(ids, -1);
    update chain.programme_fact f set credit_transferred = f.credit_transferred + d.t,
        certifiers = f.certifiers + d.c, revocations = f.revocations + d.r, credit_frozen = f.credit_frozen + d.z
    from unnest(ids, transferred, certified, revoked, frozen) as d(programme_id, t, c, r, z)
    where f.programme_id = d.programme_id;
    perform chain.stats_cells(ids, 1);
end $$;

create function chain.stats_location_cells(ids bigint[], sign integer) returns void
language sql as $$
    insert into chain.location_month as m (month, stage, longitude, latitude, programmes)
    select date_trunc('month', created_at at time zone 'UTC')::date, stage, longitude, latitude, sign * count(*)
    from chain.location_fact where programme_id = any(ids) group by 1, 2, 3, 4
    on conflict (month, stage, longitude, latitude) do update set programmes = m.programmes + excluded.programmes;
    insert into chain.location_total as t (stage, longitude, latitude, programmes)
    select stage, longitude, latitude, sign * count(*)
    from chain.location_fact where programme_id = any(ids) group by 1, 2, 3
    on conflict (stage, longitude, latitude) do update set programmes = t.programmes + excluded.programmes;
    delete from chain.location_month m
    using (select distinct date_trunc('month', created_at at time zone 'UTC')::date as month, stage, longitude,
                  latitude from chain.location_fact where programme_id = any(ids)) c
    where m.programmes = 0 and (m.month, m.stage, m.longitude, m.latitude) = (c.month, c.stage, c.longitude,
                                                                             c.latitude);
    delete from chain.location_total t
    using (select distinct stage, longitude, latitude from chain.location_fact where programme_id = any(ids)) c
    where t.programmes = 0 and (t.stage, t.longitude, t.latitude) = (c.stage, c.longitude, c.latitude);
$$;

create function chain.stats_locations(ids bigint[]) returns void
language plpgsql as $$
begin
    perform chain.stats_location_cells(ids, -1);
    delete from chain.location_fact where programme_id = any(ids);
    insert into chain.location_fact (programme_id, longitude, latitude, created_at, stage)
    select distinct l.programme_id, l.longitude, l.latitude, f.created_at, f.stage
    from chain.programme_location l join chain.programme_fact f on f.programme_id = l.programme_id and f.counted
    where l.programme_id = any(ids) and l.status = 'resolved' and l.longitude is not null
        and l.latitude is not null;
    perform chain.stats_location_cells(ids, 1);
end $$;

create function chain.stats_on_location_change() returns trigger
language plpgsql as $$
declare
    ids bigint[] := (select array_agg(distinct programme_id) from changed_rows);
begin
    if ids is not null then
        perform chain.stats_locations(ids);
    end if;
    return null;
end $$;

create function chain.stats_retirement_cells(rows jsonb, sign integer) returns void
language sql as $$
    with r as (select (x->>'block_time')::timestamptz as block_time, x->>'country' as country,
                      (x->>'amount')::numeric as amount, (x->>'omge_amount')::numeric as omge_amount
               from jsonb_array_elements(rows) x
               where x->>'retirement_type' = 'cross_border' and x->>'block_time' is not null)
    insert into chain.retirement_month as m (month, country, retirements, credits, international_credits)
    select date_trunc('month', block_time at time zone 'UTC')::date, coalesce(country, ''), sign * count(*),
        sign * sum(amount), sign * sum(amount - omge_amount)
    from r group by 1, 2
    on conflict (month, country) do update set retirements = m.retirements + excluded.retirements,
        credits = m.credits + excluded.credits,
        international_credits = m.international_credits + excluded.international_credits;
    delete from chain.retirement_month where retirements = 0;
$$;

create function chain.stats_on_retirement_insert() returns trigger
language plpgsql as $$
begin
    perform chain.stats_retirement_cells((select jsonb_agg(to_jsonb(n)) from new_rows n), 1);
    return null;
end $$;

create function chain.stats_on_retirement_delete() returns trigger
language plpgsql as $$
begin
    perform chain.stats_retirement_cells((select jsonb_agg(to_jsonb(o)) from old_rows o), -1);
    return null;
end $$;

create function chain.stats_rebuild() returns void
language plpgsql as $$
begin
    delete from chain.programme_month;
    delete from chain.programme_fact;
    delete from chain.location_month;
    delete from chain.location_total;
    delete from chain.location_fact;
    delete from chain.retirement_month;
    insert into chain.programme_fact (programme_id, counted, created_at, stage, sector, credit_estimate,
        credit_issued, credit_retired, credit_transferred, credit_frozen, certifiers, revocations)
    select p.programme_id, true, p.created_at, p.stage, p.sector, p.credit_estimate, p.credit_issued,
        p.credit_retired, coalesce(t.amount, 0), coalesce(z.frozen, 0), coalesce(c.certifiers, 0),
        coalesce(c.revocations, 0)
    from chain.programme p
    left join (select programme_id, sum(amount) as amount from chain.transfer group by programme_id) t
        using (programme_id)
    left join (select h.programme_id, sum(h.balance) as frozen from chain.holding h
               join chain.account a on a.account_id = h.account_id and a.frozen group by h.programme_id) z
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
        credit_retired, credit_transferred, credit_frozen, certified_programmes, certified_estimate,
        revoked_programmes, revoked_estimate)
    select date_trunc('month', created_at at time zone 'UTC')::date, stage, sector, count(*),
        sum(credit_estimate), sum(credit_issued), sum(credit_retired), sum(credit_transferred), sum(credit_frozen),
        count(*) filter (where certifiers > 0), coalesce(sum(credit_estimate) filter (where certifiers > 0), 0),
        count(*) filter (where certifiers = 0 and revocations > 0),
        coalesce(sum(credit_estimate) filter (where certifiers = 0 and revocations > 0), 0)
    from chain.programme_fact where counted
    group by 1, 2, 3;
    insert into chain.location_fact (programme_id, longitude, latitude, created_at, stage)
    select distinct l.programme_id, l.longitude, l.latitude, f.created_at, f.stage
    from chain.programme_location l join chain.programme_fact f on f.programme_id = l.programme_id and f.counted
    where l.status = 'resolved' and l.longitude is not null and l.latitude is not null;
    insert into chain.location_month (month, stage, longitude, latitude, programmes)
    select date_trunc('month', created_at at time zone 'UTC')::date, stage, longitude, latitude, count(*)
    from chain.location_fact group by 1, 2, 3, 4;
    insert into chain.location_total (stage, longitude, latitude, programmes)
    select stage, longitude, latitude, count(*) from chain.location_fact group by 1, 2, 3;
    insert into chain.retirement_month (month, country, retirements, credits, international_credits)
    select date_trunc('month', block_time at time zone 'UTC')::date, coalesce(country, ''), count(*), sum(amount),
        sum(amount - omge_amount)
    from chain.retirement where retirement_type = 'cross_border' and block_time is not null
    group by 1, 2;
end $$;
"""

TALLIES = {
    "transfer_insert": "select programme_id, amount, 0, 0, 0 from new_rows",
    "transfer_delete": "select programme_id, -amount, 0, 0, 0 from old_rows",
    "certifier_insert": "select programme_id, 0, certified::int, (not certified)::int, 0 from new_rows",
    "certifier_delete": "select programme_id, 0, -certified::int, -(not certified)::int, 0 from old_rows",
    "certifier_update": "select n.programme_id, 0, n.certified::int - o.certified::int, o.certified::int - "
    "n.certified::int, 0 from new_rows n join old_rows o using (programme_id, certifier_id)",
    "holding_insert": "select n.programme_id, 0, 0, 0, n.balance from new_rows n "
    "join chain.account a on a.account_id = n.account_id and a.frozen",
    "holding_update": "select n.programme_id, 0, 0, 0, n.balance - o.balance from new_rows n "
    "join old_rows o using (programme_id, account_id) join chain.account a on a.account_id = n.account_id "
    "and a.frozen",
    "holding_delete": "select o.programme_id, 0, 0, 0, -o.balance from old_rows o "
    "join chain.account a on a.account_id = o.account_id and a.frozen",
    "account_insert": "select h.programme_id, 0, 0, 0, h.balance from new_rows n "
    "join chain.holding h on h.account_id = n.account_id where n.frozen",
    "account_update": "select h.programme_id, 0, 0, 0, case when n.frozen then h.balance else -h.balance end "
    "from new_rows n join old_rows o using (account_id) join chain.holding h on h.account_id = n.account_id "
    "where n.frozen is distinct from o.frozen",
    "account_delete": "select h.programme_id, 0, 0, 0, -h.balance from old_rows o "
    "join chain.holding h on h.account_id = o.account_id where o.frozen",
}
"""Per trigger: the rows' changes to each programme's tallies, as (programme, transferred, certifiers,
revocations, frozen). Transfers add volume; certifications count certifiers and revocations; the balances of
frozen accounts are frozen credits, so a holding of a frozen account or an account's freeze changes them."""


def _tally_functions() -> list[str]:
    return [
        f"""create function chain.stats_on_{name}() returns trigger
language plpgsql as $$
begin
    perform chain.stats_tally((select jsonb_agg(jsonb_build_array(p, t, c, r, z)) from ({rows}) as d(p, t, c, r, z)));
    return null;
end $$"""
        for name, rows in TALLIES.items()
    ]


TRIGGERS = {
    "chain.programme": ("insert", "update", "delete"),
    "chain.transfer": ("insert", "delete"),
    "chain.programme_certifier": ("insert", "update", "delete"),
    "chain.holding": ("insert", "update", "delete"),
    "chain.account": ("insert", "update", "delete"),
    "chain.retirement": ("insert", "delete"),
}
"""Statement-level triggers, each calling ``chain.stats_on_<table>_<event>()``."""
LOCATION_EVENTS = ("insert", "update", "delete")
FUNCTION_SIGNATURES = (
    "stats_rebuild()", "stats_on_location_change()", "stats_locations(bigint[])",
    "stats_location_cells(bigint[], integer)", "stats_retirement_cells(jsonb, integer)",
    "stats_tally(jsonb)",
    "stats_programmes_set(bigint[], bigint[])", "stats_cells(bigint[], integer)", "stats_ensure(bigint[])",
)  # fmt: skip


def _short(table: str) -> str:
    """``chain.programme_certifier`` -> ``certifier``: the trigger's and its function's name part."""
    name = table.split(".")[1]
    return name if name == "programme" else name.removeprefix("programme_")


def _trigger_sql() -> list[str]:
    transition = {"insert": "new table as new_rows", "delete": "old table as old_rows",
                  "update": "old table as old_rows new table as new_rows"}  # fmt: skip
    statements = [
        f"create trigger stats_{_short(table)}_{event} after {event} on {table} referencing {transition[event]} "
        f"for each statement execute function chain.stats_on_{_short(table)}_{event}()"
        for table, events in TRIGGERS.items()
        for event in events
    ]
    for event in LOCATION_EVENTS:
        rows = "old table as changed_rows" if event == "delete" else "new table as changed_rows"
        statements.append(
            f"create trigger stats_location_{event} after {event} on chain.programme_location "
            f"referencing {rows} for each statement execute function chain.stats_on_location_change()"
        )
    return statements


def _trigger_functions() -> list[str]:
    return [f"stats_on_{_short(table)}_{event}()" for table, events in TRIGGERS.items() for event in events]


APP_INDEXES = (
    ("ix_credit_transfer_from_updated", "credit_transfer", ["from_account", "updated_at"]),
    ("ix_credit_transfer_initiator_updated", "credit_transfer", ["initiator_organisation_id", "updated_at"]),
    ("ix_credit_retirement_from_updated", "credit_retirement", ["from_account", "updated_at"]),
    ("ix_credit_retirement_updated", "credit_retirement", ["updated_at"]),
)
"""For the "last updated" of pending requests: the latest change of an organisation's requests, by index."""


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
    op.create_table(
        "location_fact",
        sa.Column("programme_id", sa.BigInteger(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stage", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("programme_id", "longitude", "latitude", name="pk_location_fact"),
        schema="chain",
        comment="Each counted programme's distinct resolved points, as added to location_month (kept by triggers)",
    )
    op.create_index("ix_location_fact_created_at", "location_fact", ["created_at"], schema="chain")
    op.create_table(
        "location_month",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("stage", sa.Text(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("programmes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("month", "stage", "longitude", "latitude", name="pk_location_month"),
        schema="chain",
        comment="Programmes per point, stage and UTC month of creation (kept by triggers)",
    )
    op.create_table(
        "location_total",
        sa.Column("stage", sa.Text(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("programmes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("stage", "longitude", "latitude", name="pk_location_total"),
        schema="chain",
        comment="Programmes per point and stage, all time (kept by triggers)",
    )
    op.create_table(
        "retirement_month",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("country", sa.Text(), nullable=False),
        sa.Column("retirements", sa.BigInteger(), nullable=False),
        _amount("credits"),
        _amount("international_credits"),
        sa.PrimaryKeyConstraint("month", "country", name="pk_retirement_month"),
        schema="chain",
        comment="Cross-border retirements per UTC month and receiving country (kept by triggers)",
    )
    op.create_index("ix_retirement_cross_border_time", "retirement", ["block_time"], schema="chain",
                    postgresql_where=sa.text("retirement_type = 'cross_border'"))  # fmt: skip
    for name, table, columns in APP_INDEXES:
        op.create_index(name, table, columns, schema="app")
    op.create_index("ix_credit_transfer_pending_initiator", "credit_transfer", ["initiator_organisation_id"],
                    schema="app", postgresql_where=sa.text("state = 'pending'"))  # fmt: skip
    op.execute(FUNCTIONS)
    for statement in (*_tally_functions(), *_trigger_sql()):
        op.execute(statement)
    op.execute("select chain.stats_rebuild()")


def downgrade() -> None:
    for table, events in TRIGGERS.items():
        for event in events:
            op.execute(f"drop trigger if exists stats_{_short(table)}_{event} on {table}")
    for event in LOCATION_EVENTS:
        op.execute(f"drop trigger if exists stats_location_{event} on chain.programme_location")
    for signature in (*_trigger_functions(), *FUNCTION_SIGNATURES):
        op.execute(f"drop function if exists chain.{signature}")
    op.drop_index("ix_credit_transfer_pending_initiator", table_name="credit_transfer", schema="app")
    for name, table, _ in APP_INDEXES:
        op.drop_index(name, table_name=table, schema="app")
    op.drop_index("ix_retirement_cross_border_time", table_name="retirement", schema="chain")
    for table in ("retirement_month", "location_total", "location_month", "location_fact"):
        op.drop_table(table, schema="chain")
    op.drop_table("programme_month", schema="chain")
    op.drop_index("ix_programme_fact_created_at", table_name="programme_fact", schema="chain")
    op.drop_table("programme_fact", schema="chain")
    op.drop_index("ix_account_frozen", table_name="account", schema="chain")
    op.drop_index("ix_event_name_block", table_name="event", schema="chain")
    op.drop_index("ix_retirement_country", table_name="retirement", schema="chain")
    op.drop_column("retirement", "block_time", schema="chain")
    op.drop_index("ix_programme_created_at", table_name="programme", schema="chain")
    op.drop_column("programme", "created_at", schema="chain")

"""Identity services: password tokens, API keys, the email outbox, logos and suspension counters.

Revision ID: 0006_identity_services
Revises: 0005_login_attempts
Create Date: 2026-11-30 12:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006_identity_services"
down_revision = "0005_login_attempts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("organisation", sa.Column("logo_url", sa.Text(), nullable=True), schema="app")
    op.add_column(
        "organisation",
        sa.Column("state_version", sa.Integer(), server_default="0", nullable=False,
                  comment="Suspensions and activations so far; names their chain requests so retries apply once"),
        schema="app",
    )  # fmt: skip
    op.add_column("user_account", sa.Column("phone", sa.Text(), nullable=True), schema="app")
    op.add_column(
        "user_account",
        sa.Column("session_version", sa.Integer(), server_default="0", nullable=False,
                  comment="Raised by every password change; session tokens carry it, so older sessions end"),
        schema="app",
    )  # fmt: skip
    # Organisation ids are chain account ids: a sequence well above the Government's default account.
    op.execute("create sequence app.organisation_id_seq start with 100 owned by app.organisation.organisation_id")
    op.create_table(
        "password_token",
        sa.Column(
            "token_hash", sa.Text(), nullable=False, comment="SHA-256 of the token; the token itself is only emailed"
        ),  # fmt: skip
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False, comment="set | reset"),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app.user_account.user_id"],
            ondelete="CASCADE",
            name=op.f("fk_password_token_user_id_user_account"),
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_password_token")),
        schema="app",
        comment="Single-use set-password and reset-password tokens",
    )
    op.create_index("ix_password_token_user", "password_token", ["user_id"], schema="app")
    op.create_table(
        "api_key",
        sa.Column("key_id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("prefix", sa.Text(), nullable=False, comment="Public part of the key, to find its row"),
        sa.Column("secret_hash", sa.Text(), nullable=False, comment="SHA-256 of the whole key"),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app.user_account.user_id"], ondelete="CASCADE", name=op.f("fk_api_key_user_id_user_account")
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_key_prefix")),
        schema="app",
        comment="API keys of API-organisation admins (MRV systems); shown once, stored as hashes",
    )
    op.create_index("ix_api_key_user", "api_key", ["user_id"], schema="app")
    op.create_table(
        "email_outbox",
        sa.Column("email_id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column(
            "body", sa.Text(), nullable=True, comment="Rendered text; cleared once delivered (it may hold a link token)"
        ),  # fmt: skip
        sa.Column(
            "status", sa.Text(), server_default="pending", nullable=False, comment="pending | sent | logged | failed"
        ),  # fmt: skip
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "context",
            postgresql.JSONB(),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
            comment="Non-secret template values",
        ),  # fmt: skip
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("email_id", name=op.f("pk_email_outbox")),
        schema="app",
        comment="Emails written in the same transaction as the change they report; a worker delivers them",
    )
    op.create_table(
        "audit_event",
        sa.Column("event_id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("actor_user_id", sa.BigInteger(), nullable=True,
                  comment="Null for the operator's CLI (setup, import)"),
        sa.Column("actor_email", sa.Text(), nullable=True,
                  comment="Kept as it was: the actor may be deleted later"),
        sa.Column("via_api_key", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("action", sa.Text(), nullable=False,
                  comment="e.g. organisation.suspend, user.delete, api_key.issue"),
        sa.Column("organisation_id", sa.BigInteger(), nullable=True,
                  comment="The organisation the target belongs to"),
        sa.Column("target_id", sa.BigInteger(), nullable=True, comment="User or organisation id, by action"),
        sa.Column("details", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_audit_event")),
        schema="app",
        comment="Who changed which account or organisation, written in the transaction of the change; append-only",
    )  # fmt: skip
    op.create_index("ix_audit_event_organisation", "audit_event", ["organisation_id", "event_id"], schema="app")
    # Append-only: the application's role may insert and read, never rewrite history.
    op.execute("""
        create function app.audit_event_is_append_only() returns trigger language plpgsql as $$
        begin raise exception 'app.audit_event is append-only'; end $$;
        create trigger audit_event_append_only before update or delete on app.audit_event
        for each row execute function app.audit_event_is_append_only();
    """)
    op.create_index("ix_email_outbox_due", "email_outbox", ["next_attempt_at"], schema="app",
                    postgresql_where=sa.text("status = 'pending'"))  # fmt: skip


def downgrade() -> None:
    op.drop_table("audit_event", schema="app")
    op.execute("drop function app.audit_event_is_append_only()")
    op.drop_table("email_outbox", schema="app")
    op.drop_table("api_key", schema="app")
    op.drop_table("password_token", schema="app")
    op.execute("drop sequence app.organisation_id_seq")
    op.drop_column("user_account", "session_version", schema="app")
    op.drop_column("user_account", "phone", schema="app")
    op.drop_column("organisation", "state_version", schema="app")
    op.drop_column("organisation", "logo_url", schema="app")

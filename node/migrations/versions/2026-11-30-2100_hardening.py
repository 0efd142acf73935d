"""Hardening (issue 8): login throttling, links bound to what they stood for, recoverable suspension.

Revision ID: 0007_hardening
Revises: 0006_identity_services
Create Date: 2026-11-30 21:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007_hardening"
down_revision = "0006_identity_services"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _login_throttling()
    _links_and_keys()
    _suspension_intents()


def downgrade() -> None:
    _drop_suspension_intents()
    _drop_links_and_keys()
    _drop_login_throttling()


# --- login throttling (finding 4) ---
_ATTEMPT_COMMENT = ("Password attempts (login, password change): throttling per account and address, per address and "
                    "network, per account, across API processes; pruned by registry up")  # fmt: skip
_OLD_ATTEMPT_COMMENT = "Login attempts, for rate limiting per account and per address across API processes"


def _login_throttling() -> None:
    # Attempts are recorded as failures before the password check and flipped on success (ADR 0009); the limit per
    # (account, address) pair gets its own index, the limit per network (an IPv6 client's /48) its column and index,
    # and the background prune (failures past the window, successes past the familiar-address lookback) its index.
    op.create_index("ix_login_attempt_email_address", "login_attempt", ["email", "address", "at"], schema="app")
    op.alter_column("login_attempt", "address", existing_type=sa.Text(), existing_nullable=False, schema="app",
                    comment="Client address as counted (an IPv6 client by its /64)")  # fmt: skip
    op.add_column("login_attempt", sa.Column("network", sa.Text(), nullable=True,
                                             comment="Client network as counted (an IPv6 client's /48, else the "
                                             "address)"), schema="app")  # fmt: skip
    # Earlier rows count under their address alone: they leave the window within minutes and the table with the
    # next prune.
    op.execute("update app.login_attempt set network = address")
    op.alter_column("login_attempt", "network", nullable=False, schema="app")
    op.create_index("ix_login_attempt_network", "login_attempt", ["network", "at"], schema="app")
    op.create_index("ix_login_attempt_prune", "login_attempt", ["succeeded", "at"], schema="app")
    op.alter_column("login_attempt", "succeeded", existing_type=sa.Boolean(), existing_nullable=False, schema="app",
                    comment="False from the moment of the attempt until the password matched, so parallel guesses "
                    "count")  # fmt: skip
    op.create_table_comment("login_attempt", _ATTEMPT_COMMENT, existing_comment=_OLD_ATTEMPT_COMMENT, schema="app")


def _drop_login_throttling() -> None:
    op.create_table_comment("login_attempt", _OLD_ATTEMPT_COMMENT, existing_comment=_ATTEMPT_COMMENT, schema="app")
    op.alter_column("login_attempt", "succeeded", existing_type=sa.Boolean(), existing_nullable=False, schema="app",
                    comment=None)  # fmt: skip
    op.drop_index("ix_login_attempt_prune", table_name="login_attempt", schema="app")
    op.drop_index("ix_login_attempt_network", table_name="login_attempt", schema="app")
    op.drop_column("login_attempt", "network", schema="app")
    op.alter_column("login_attempt", "address", existing_type=sa.Text(), existing_nullable=False, schema="app",
                    comment=None)  # fmt: skip
    op.drop_index("ix_login_attempt_email_address", table_name="login_attempt", schema="app")


# --- links and keys bound to what they stood for; names and emails (findings 5 and 7) ---
_TOKEN_COMMENT = ("Single-use set-password, reset-password and sign-in link tokens, bound to the password and email "
                  "they were sent for")  # fmt: skip
_OLD_TOKEN_COMMENT = "Single-use set-password and reset-password tokens"


def stored_email(value: str) -> str:
    """The form ``node.identity.schemas.lookup_email`` gives an address as of this revision: what
    ``normalise_email`` stores for a valid address (NFKC, case folding, NFKC; then email-validator's normalisation,
    which turns a punycode domain into Unicode; then the fold again), and the fold alone for one it refuses, which
    is what a login for it looks up. Copied, not imported: a migration must do tomorrow what it did today, whatever
    the application code becomes (tests/node/identity/test_email_migration.py checks that the two still agree).
    email-validator is a pinned dependency of the node, like SQLAlchemy here."""
    import unicodedata  # local: this section's own imports in a migration shared by several changes

    from email_validator import EmailNotValidError, validate_email

    def fold(text: str) -> str:
        return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text.strip()).casefold())

    try:
        return fold(validate_email(fold(value), check_deliverability=False).normalized)
    except EmailNotValidError:
        return fold(value)


def _fold_emails(table: str, key: str) -> None:
    """Rewrites stored emails in the canonical form logins now look up. Two rows that fold to one address (a
    second account made with full-width, case or punycode variants) stop the upgrade, naming them: which one is
    genuine is the operator's call, and silently keeping both would leave one unreachable."""
    conn = op.get_bind()
    rows = conn.execute(sa.text(f"select {key} as id, email from app.{table} where email is not null")).all()
    by_form: dict[str, list[tuple[int, str]]] = {}
    for row in rows:
        by_form.setdefault(stored_email(row.email), []).append((row.id, row.email))
    clashes = {form: found for form, found in by_form.items() if len(found) > 1}
    if clashes:
        listed = "; ".join(f"{form}: " + ", ".join(f"{key} {i} ({e!r})" for i, e in found)
                           for form, found in clashes.items())  # fmt: skip
        raise RuntimeError(f"app.{table} holds several rows for one email once normalised; delete or rename all but "
                           f"one of each, then upgrade again: {listed}")  # fmt: skip
    for form, [(row_id, email)] in by_form.items():
        if form != email:
            conn.execute(sa.text(f"update app.{table} set email = :email where {key} = :id"),
                         {"email": form, "id": row_id})  # fmt: skip


def _links_and_keys() -> None:
    _fold_emails("user_account", "user_id")
    _fold_emails("organisation", "organisation_id")
    comments = {
        "session_version": "The user's session version at issue; a password change since then voids the link",
        "email": "The user's email at issue; the link is void once the email changed",
    }
    op.add_column("password_token", sa.Column("session_version", sa.Integer(), nullable=True,
                                              comment=comments["session_version"]), schema="app")  # fmt: skip
    op.add_column("password_token", sa.Column("email", sa.Text(), nullable=True, comment=comments["email"]),
                  schema="app")  # fmt: skip
    # Unused links sent before this revision are void: nothing says whether their user changed the password or the
    # email since (the very bug this revision fixes), so they cannot be bound to what they were sent for. Binding
    # them to the user as now would revive stale ones. A user asks for a new reset link; an Admin resends an
    # invitation. The columns still get the user's values, which the rows no longer use.
    op.execute("update app.password_token t set session_version = u.session_version, email = u.email, "
               "expires_at = least(t.expires_at, now()) "
               "from app.user_account u where u.user_id = t.user_id")  # fmt: skip
    op.alter_column("password_token", "session_version", nullable=False, schema="app")
    op.alter_column("password_token", "email", nullable=False, schema="app")
    op.alter_column("password_token", "purpose", existing_type=sa.Text(), existing_nullable=False, schema="app",
                    comment="set | reset | login", existing_comment="set | reset")  # fmt: skip
    op.create_table_comment("password_token", _TOKEN_COMMENT, existing_comment=_OLD_TOKEN_COMMENT, schema="app")


def _drop_links_and_keys() -> None:
    """Stored emails stay in their canonical form: it is a valid form for the previous revision too. Sign-in link
    tokens go: the previous revision knows no such purpose."""
    op.execute("delete from app.password_token where purpose = 'login'")
    op.create_table_comment("password_token", _OLD_TOKEN_COMMENT, existing_comment=_TOKEN_COMMENT, schema="app")
    op.alter_column("password_token", "purpose", existing_type=sa.Text(), existing_nullable=False, schema="app",
                    comment="set | reset", existing_comment="set | reset | login")  # fmt: skip
    op.drop_column("password_token", "email", schema="app")
    op.drop_column("password_token", "session_version", schema="app")


# --- suspension intents: chain-then-database steps recoverable (finding 3) ---
def _suspension_intents() -> None:
    op.create_table(
        "organisation_state_change",
        sa.Column("change_id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("organisation_id", sa.BigInteger(), nullable=False),
        sa.Column("state_version", sa.Integer(), nullable=False,
                  comment="The organisation's state_version once done; names the change's chain requests"),
        sa.Column("action", sa.Text(), nullable=False, comment="suspend | activate"),
        sa.Column("remarks", sa.Text(), nullable=True),
        sa.Column("requested_by", postgresql.JSONB(astext_type=sa.Text()), nullable=True,
                  comment="The authorised caller (Principal); null for the CLI"),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False,
                  comment="pending | done | failed (the chain refused its first write: nothing of it is on chain)"),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True,
                  comment="What the completion produced, e.g. revoked certifications"),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["organisation_id"], ["app.organisation.organisation_id"],
                                name=op.f("fk_organisation_state_change_organisation_id_organisation")),
        sa.PrimaryKeyConstraint("change_id", name=op.f("pk_organisation_state_change")),
        schema="app",
        comment="Suspensions and activations, committed before their chain writes so a failure after them is "
        "completed later (ADR 0010)",
    )  # fmt: skip
    op.create_index("uq_organisation_state_change_pending", "organisation_state_change", ["organisation_id"],
                    unique=True, schema="app", postgresql_where=sa.text("status = 'pending'"))  # fmt: skip


def _drop_suspension_intents() -> None:
    op.drop_table("organisation_state_change", schema="app")

"""The ``app`` schema: what is not on chain (ADR 0003). Organisations are chain accounts by id."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Sequence,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from node.db.engine import app_metadata as metadata

organisation = Table(
    "organisation",
    metadata,
    Column("organisation_id", BigInteger, primary_key=True, comment="Also the organisation's on-chain account id"),
    Column("name", Text, nullable=False),
    Column("role", Text, nullable=False, comment="Government | ProgrammeDeveloper | Certifier | API | ..."),
    Column("state", Text, nullable=False, server_default="active", comment="active | suspended"),
    Column("country", Text, nullable=False),
    Column("tax_id", Text, nullable=True, unique=True),
    Column("email", Text, nullable=True, unique=True),
    Column("phone", Text, nullable=True),
    Column("website", Text, nullable=True),
    Column("address", Text, nullable=True),
    Column("remarks", Text, nullable=True),
    Column("logo_url", Text, nullable=True),
    Column(
        "state_version",
        Integer,
        nullable=False,
        server_default="0",
        comment="Suspensions and activations so far; names their chain requests so retries apply once",
    ),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Index("uq_organisation_government", "role", unique=True, postgresql_where=text("role = 'Government'")),
)

login_attempt = Table(
    "login_attempt",
    metadata,
    Column("attempt_id", BigInteger, primary_key=True, autoincrement=True),
    Column("email", Text, nullable=False),
    Column("address", Text, nullable=False, comment="Client address as counted (an IPv6 client by its /64)"),
    Column(
        "network", Text, nullable=False, comment="Client network as counted (an IPv6 client's /48, else the address)"
    ),
    Column(
        "succeeded",
        Boolean,
        nullable=False,
        comment="False from the moment of the attempt until the password matched, so parallel guesses count",
    ),
    Column("at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Index("ix_login_attempt_email", "email", "at"),
    Index("ix_login_attempt_address", "address", "at"),
    Index("ix_login_attempt_email_address", "email", "address", "at"),
    Index("ix_login_attempt_network", "network", "at"),
    Index("ix_login_attempt_prune", "succeeded", "at"),
    comment="Password attempts (login, password change): throttling per account and address, per address and "
    "network, per account, across API processes; pruned by registry up",
)

user_account = Table(
    "user_account",
    metadata,
    Column("user_id", BigInteger, primary_key=True, autoincrement=True),
    Column("email", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("role", Text, nullable=False, comment="Root | Admin | Manager | ViewOnly"),
    Column("organisation_id", BigInteger, ForeignKey("app.organisation.organisation_id"), nullable=False),
    Column("password_hash", Text, nullable=True, comment="Argon2id; null until the user sets a password"),
    Column("must_change_password", Boolean, nullable=False, server_default="false"),
    Column("language", Text, nullable=False, server_default="en"),
    Column("phone", Text, nullable=True),
    Column(
        "session_version",
        Integer,
        nullable=False,
        server_default="0",
        comment="Raised by every password change; session tokens carry it, so older sessions end",
    ),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("password_changed_at", DateTime(timezone=True), nullable=True),
    Index("ix_user_account_organisation", "organisation_id"),
    Index("uq_user_account_root", "role", unique=True, postgresql_where=text("role = 'Root'")),
)

password_token = Table(
    "password_token",
    metadata,
    Column("token_hash", Text, primary_key=True, comment="SHA-256 of the token; the token itself is only emailed"),
    Column("user_id", BigInteger, ForeignKey("app.user_account.user_id", ondelete="CASCADE"), nullable=False),
    Column("purpose", Text, nullable=False, comment="set | reset | login"),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column(
        "session_version",
        Integer,
        nullable=False,
        comment="The user's session version at issue; a password change since then voids the link",
    ),
    Column("email", Text, nullable=False, comment="The user's email at issue; the link is void once the email changed"),
    Index("ix_password_token_user", "user_id"),
    comment="Single-use set-password, reset-password and sign-in link tokens, bound to the password and email they "
    "were sent for",
)

api_key = Table(
    "api_key",
    metadata,
    Column("key_id", BigInteger, primary_key=True, autoincrement=True),
    Column("user_id", BigInteger, ForeignKey("app.user_account.user_id", ondelete="CASCADE"), nullable=False),
    Column("prefix", Text, nullable=False, unique=True, comment="Public part of the key, to find its row"),
    Column("secret_hash", Text, nullable=False, comment="SHA-256 of the whole key"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
    Index("ix_api_key_user", "user_id"),
    comment="API keys of API-organisation admins (MRV systems); shown once, stored as hashes",
)

email_outbox = Table(
    "email_outbox",
    metadata,
    Column("email_id", BigInteger, primary_key=True, autoincrement=True),
    Column("recipient", Text, nullable=False),
    Column("template", Text, nullable=False),
    Column("language", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=True, comment="Rendered text; cleared once delivered (it may hold a link token)"),
    Column("status", Text, nullable=False, server_default="pending", comment="pending | sent | logged | failed"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("last_error", Text, nullable=True),
    Column("context", JSONB, nullable=False, server_default=text("'{}'::jsonb"), comment="Non-secret template values"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Index("ix_email_outbox_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    comment="Emails written in the same transaction as the change they report; a worker delivers them",
)

audit_event = Table(
    "audit_event",
    metadata,
    Column("event_id", BigInteger, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("actor_user_id", BigInteger, nullable=True, comment="Null for the operator's CLI (setup, import)"),
    Column("actor_email", Text, nullable=True, comment="Kept as it was: the actor may be deleted later"),
    Column("via_api_key", Boolean, nullable=False, server_default="false"),
    Column("action", Text, nullable=False, comment="e.g. organisation.suspend, user.delete, api_key.issue"),
    Column("organisation_id", BigInteger, nullable=True, comment="The organisation the target belongs to"),
    Column("target_id", BigInteger, nullable=True, comment="User or organisation id, by action"),
    Column("details", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Index("ix_audit_event_organisation", "organisation_id", "event_id"),
    comment="Who changed which account or organisation, written in the transaction of the change; append-only",
)

organisation_state_change = Table(
    "organisation_state_change",
    metadata,
    Column("change_id", BigInteger, primary_key=True, autoincrement=True),
    Column("organisation_id", BigInteger, ForeignKey("app.organisation.organisation_id"), nullable=False),
    Column(
        "state_version",
        Integer,
        nullable=False,
        comment="The organisation's state_version once done; names the change's chain requests",
    ),
    Column("action", Text, nullable=False, comment="suspend | activate"),
    Column("remarks", Text, nullable=True),
    Column("requested_by", JSONB, nullable=True, comment="The authorised caller (Principal); null for the CLI"),
    Column(
        "status",
        Text,
        nullable=False,
        server_default="pending",
        comment="pending | done | failed (the chain refused its first write: nothing of it is on chain)",
    ),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=True),
    Column("result", JSONB, nullable=True, comment="What the completion produced, e.g. revoked certifications"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("completed_at", DateTime(timezone=True), nullable=True),
    Index(
        "uq_organisation_state_change_pending",
        "organisation_id",
        unique=True,
        postgresql_where=text("status = 'pending'"),
    ),
    comment="Suspensions and activations, committed before their chain writes so a failure after them is completed "
    "later (ADR 0010)",
)

calculator_constants = Table(
    "calculator_constants",
    metadata,
    Column("version", BigInteger, primary_key=True, autoincrement=True, comment="Recorded by each programme"),
    Column("methodology", Text, nullable=False, comment="A calculator methodology, e.g. agriculture, solar"),
    Column("constants", JSONB, nullable=False),
    Column("created_by", JSONB, nullable=True, comment="The Government user who set them; null for the defaults"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Index("ix_calculator_constants_methodology", "methodology", "version"),
    comment="Versions of the credit calculator's constants; the latest per methodology applies (reference §8)",
)

programme_detail = Table(
    "programme_detail",
    metadata,
    Column("programme_id", BigInteger, primary_key=True, comment="The programme's id on chain"),
    Column("title", Text, nullable=False),
    Column("details", JSONB, nullable=False, comment="The off-chain record whose SHA-256 is anchored on chain"),
    Column("details_hash", LargeBinary, nullable=False, comment="SHA-256 of the canonical form of details"),
    Column("revision", Integer, nullable=False, server_default="1", comment="Anchored revisions so far"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Index("ix_programme_detail_title", text("lower(title)")),
    comment="Programme fields that are not credit-relevant (title, properties, calculator inputs, materials)",
)

programme_change = Table(
    "programme_change",
    metadata,
    Column("change_id", BigInteger, primary_key=True, autoincrement=True),
    Column(
        "operation", Text, nullable=False, comment="create | authorise | reject | issue | certify | revoke | details"
    ),
    Column("programme_id", BigInteger, nullable=True, comment="Null for a create until it is on chain"),
    Column("idempotency_scope", Text, nullable=True, comment="Whose key: user:<id> or api-key:<id>"),
    Column("idempotency_key", Text, nullable=True),
    Column("request_hash", LargeBinary, nullable=False, comment="SHA-256 of the validated request"),
    Column("request_ref", LargeBinary, nullable=False, unique=True, comment="The chain request reference (random)"),
    Column("payload", JSONB, nullable=False, comment="The validated request"),
    Column("requested_by", JSONB, nullable=True, comment="The authorised caller (Principal)"),
    Column("status", Text, nullable=False, server_default="pending", comment="pending | done | failed"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=True),
    Column("result", JSONB, nullable=True, comment="The answer, given again to a retry with the same key"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("completed_at", DateTime(timezone=True), nullable=True),
    Index(
        "uq_programme_change_idempotency",
        "idempotency_scope",
        "operation",
        "idempotency_key",
        unique=True,
        postgresql_where=text("idempotency_key is not null"),
    ),
    Index("ix_programme_change_programme", "programme_id", "change_id"),
    Index(
        "uq_programme_change_details_pending",
        "programme_id",
        unique=True,
        postgresql_where=text("operation = 'details' and status = 'pending'"),
    ),
    Index("ix_programme_change_pending", "created_at", postgresql_where=text("status = 'pending'")),
    comment="Programme writes: committed before their chain write (ADR 0010) and kept as the idempotency record",
)

credit_transfer = Table(
    "credit_transfer",
    metadata,
    Column("transfer_id", BigInteger, primary_key=True, autoincrement=True),
    Column("programme_id", BigInteger, nullable=False),
    Column("from_account", BigInteger, nullable=False, comment="Sending organisation (its chain account)"),
    Column("to_account", BigInteger, nullable=False, comment="Receiving organisation (its chain account)"),
    Column("amount", BigInteger, nullable=False),
    Column(
        "state",
        Text,
        nullable=False,
        comment="pending (awaiting the sender) | approved (executed on approval) | executed (sent by the holder) | "
        "rejected | cancelled",
    ),
    Column("initiated_by", JSONB, nullable=False, comment="The caller who asked (Principal)"),
    Column("initiator_organisation_id", BigInteger, nullable=False),
    Column("remarks", Text, nullable=True),
    Column("decided_by", JSONB, nullable=True, comment="Who approved, rejected or cancelled; null for the system"),
    Column("decision_remarks", Text, nullable=True),
    Column("change_id", BigInteger, nullable=True, comment="The programme_change that executes it on chain"),
    Column("tx_hash", LargeBinary, nullable=True),
    Column("tx_hashes", JSONB, nullable=True, comment="Every chain transaction, in order"),
    Column("block_number", BigInteger, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Index("ix_credit_transfer_pending", "programme_id", "from_account", postgresql_where=text("state = 'pending'")),
    Index("ix_credit_transfer_from", "from_account", "transfer_id"),
    Index("ix_credit_transfer_to", "to_account", "transfer_id"),
    Index("ix_credit_transfer_from_updated", "from_account", "updated_at"),
    Index("ix_credit_transfer_initiator_updated", "initiator_organisation_id", "updated_at"),
    Index(
        "ix_credit_transfer_pending_initiator", "initiator_organisation_id", postgresql_where=text("state = 'pending'")
    ),
    comment="Credit transfers and transfer requests (reference §6.2-6.3); the chain write is a programme_change",
)

credit_retirement = Table(
    "credit_retirement",
    metadata,
    Column("retirement_id", BigInteger, primary_key=True, autoincrement=True),
    Column("programme_id", BigInteger, nullable=False),
    Column("from_account", BigInteger, nullable=False, comment="The holder whose credits are retired"),
    Column("retirement_type", Text, nullable=False, comment="cross_border | legal_action | other"),
    Column("country", Text, nullable=True, comment="Receiving country (cross-border), ISO alpha-2"),
    Column("beneficiary", Text, nullable=True, comment="Receiving organisation (cross-border)"),
    Column("amount", BigInteger, nullable=False),
    Column("omge_bps", Integer, nullable=False, comment="The OMGE rate the request was made at"),
    Column("omge_amount", BigInteger, nullable=False, comment="Credits retired into the OMGE account"),
    Column(
        "state",
        Text,
        nullable=False,
        comment="pending (awaiting the Government) | executing | recognised | retired (by the Government) | "
        "not_recognised | cancelled | failed",
    ),
    Column("initiated_by", JSONB, nullable=False, comment="The caller who asked (Principal)"),
    Column("initiator_organisation_id", BigInteger, nullable=False),
    Column("remarks", Text, nullable=True),
    Column("decided_by", JSONB, nullable=True, comment="Who decided; null for the system"),
    Column("decision_remarks", Text, nullable=True),
    Column("change_id", BigInteger, nullable=True, comment="The programme_change that retires on chain"),
    Column("chain_retirement_ids", JSONB, nullable=True, comment="getRetirement ids, one per call"),
    Column("tx_hashes", JSONB, nullable=True, comment="Every chain transaction, in order"),
    Column("block_number", BigInteger, nullable=True, comment="Block of the last transaction"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Index("ix_credit_retirement_pending", "programme_id", "from_account", postgresql_where=text("state = 'pending'")),
    Index("ix_credit_retirement_from", "from_account", "retirement_id"),
    Index("ix_credit_retirement_from_updated", "from_account", "updated_at"),
    Index("ix_credit_retirement_updated", "updated_at"),
    comment="Credit retirements and retirement requests (reference §6.4); the chain write is a programme_change",
)

request_namespace = Table(
    "request_namespace",
    metadata,
    Column("namespace", LargeBinary, nullable=False),
    Column("singleton", Boolean, primary_key=True, server_default=text("true")),
    CheckConstraint("singleton", name="singleton"),
    CheckConstraint("length(namespace) = 16", name="length"),
    comment="The 16 random bytes of this database's sequenced request references (one row)",
)
request_ref_seq = Sequence("request_ref_seq", metadata=metadata, schema="app", start=0, minvalue=0)
"""Numbers the node's writes within its namespace (``node.programmes.changes``)."""

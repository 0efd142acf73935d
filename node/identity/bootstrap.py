"""`registry setup`: the Government organisation and the single Root user, once.

The first Root credential never goes to a log: it comes from ``REGISTRY_ROOT_PASSWORD`` or is generated and
written once to ``<data dir>/secrets/root-password``, readable by the owner only, and Root must change it at the
first login. Once Root has changed it, the file goes (``forget_first_password``): a password nobody uses any more
has no business on disk. Running setup again changes nothing else.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, insert, select, text

from node.config import Settings
from node.identity.permissions import ROOT
from node.identity.schemas import lookup_email
from node.models.app import organisation, user_account
from node.security.passwords import generate_password, hash_password

logger = logging.getLogger("registry.setup")
SETUP_LOCK = 0x5345545550  # "SETUP"


@dataclass(frozen=True)
class SetupResult:
    government_id: int
    root_user_id: int
    created: bool
    password_file: Path | None


def first_password_file(settings: Settings) -> Path:
    return settings.data_dir / "secrets" / "root-password"


def forget_first_password(engine: Engine, settings: Settings) -> bool:
    """Deletes the first-password file if Root has changed its password since; True if it did.

    Call it after the password change has committed (or any time: setup does on every run). It reads the committed
    state, so it never deletes the only copy of a password still in use, as deleting inside the transaction would
    if the commit then failed.
    """
    path = first_password_file(settings)
    if not path.exists():
        return False
    with engine.connect() as conn:
        changed = conn.execute(
            select(user_account.c.password_changed_at.is_not(None)).where(user_account.c.role == ROOT)
        ).scalar()
    if not changed:
        return False
    path.unlink(missing_ok=True)
    logger.info("Root has changed its first password; removed %s", path)
    return True


def _write_secret(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(value + "\n")


def setup(engine: Engine, settings: Settings) -> SetupResult:
    result = _setup(engine, settings)
    if not result.created:
        forget_first_password(engine, settings)  # in case a crash came between a change's commit and the removal
    return result


def _setup(engine: Engine, settings: Settings) -> SetupResult:
    with engine.begin() as conn:
        conn.execute(text("select pg_advisory_xact_lock(:key)"), {"key": SETUP_LOCK})  # concurrent setups
        government = conn.execute(select(organisation.c.organisation_id).where(organisation.c.role == "Government"))
        government_id = government.scalar()
        if government_id is None:
            government_id = settings.registry_government_account
            conn.execute(insert(organisation).values(
                organisation_id=government_id, role="Government", country=settings.registry_country,
                name=settings.registry_government_name or f"Government ({settings.registry_country})",
            ))  # fmt: skip
        root_id = conn.execute(select(user_account.c.user_id).where(user_account.c.role == "Root")).scalar()
        if root_id is not None:
            return SetupResult(int(government_id), int(root_id), False, None)
        password_file: Path | None = None
        if settings.registry_root_password is not None:
            password = settings.registry_root_password.get_secret_value()
        else:
            password = generate_password()
            password_file = first_password_file(settings)
            _write_secret(password_file, password)
        root_id = conn.execute(insert(user_account).values(
            email=lookup_email(settings.registry_root_email), name="Root", role="Root", organisation_id=government_id,
            password_hash=hash_password(password), must_change_password=True,
        ).returning(user_account.c.user_id)).scalar_one()  # fmt: skip
    if password_file is not None:
        logger.info("Root user %s created; its first password is in %s (change it at first login)",
                    settings.registry_root_email, password_file)  # fmt: skip
    return SetupResult(int(government_id), int(root_id), True, password_file)

"""A registry populated with one caller of every kind, for the permission matrix and the identity tests.

Organisations and users are made through the services (the API's own code paths); callers authenticate with
real signed session tokens (or a real API key), so only the password check of login is skipped here.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass, field

from PIL import Image
from sqlalchemy import Engine, text

from node.chain.registry import Registry
from node.config import Settings
from node.identity import api_keys, suspension
from node.identity.bootstrap import setup
from node.identity.organisations import insert_organisation
from node.identity.permissions import Principal
from node.identity.schemas import OrganisationIn, UserIn
from node.identity.users import insert_user
from node.security.tokens import Claims, issue_token

CALLERS = ("anonymous", "root", "gov_admin", "gov_manager", "gov_viewonly", "dev_admin", "dev_manager",
           "dev_viewonly", "cert_admin", "api_key", "suspended_admin")  # fmt: skip
_serial = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_serial)}"


def real_png(size: tuple[int, int] = (64, 32)) -> bytes:
    """A small, valid PNG (logos are decoded, so magic bytes alone no longer pass)."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (20, 120, 60)).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class Member:
    user_id: int
    role: str
    organisation_id: int


@dataclass
class World:
    engine: Engine
    settings: Settings
    registry: Registry
    government: int = 0
    developer: int = 0
    certifier: int = 0
    api_org: int = 0
    suspended: int = 0
    members: dict[str, Member] = field(default_factory=dict)

    # ------------------------------------------------------------------ building

    def organisation(self, role: str = "ProgrammeDeveloper", *, admin: bool = True, name: str | None = None) -> int:
        """A new organisation (with an Admin unless ``admin=False``)."""
        tag = unique("org")
        contact = {"tax_id": f"TAX-{tag}", "email": f"{tag}@example.org", "phone": "+234 800 000 0000",
                   "address": "1 Test Street, Abuja"} if role != "API" else {}  # fmt: skip
        with self.engine.begin() as conn:
            organisation_id = insert_organisation(
                conn, self.settings, OrganisationIn(name=name or f"Org {tag}", role=role, **contact)
            )
            if admin:
                self._user(conn, organisation_id, "Admin")
        return organisation_id

    def user(self, organisation_id: int, role: str = "ViewOnly", *, language: str = "en") -> int:
        with self.engine.begin() as conn:
            return self._user(conn, organisation_id, role, language)

    def _user(self, conn: object, organisation_id: int, role: str, language: str = "en") -> int:
        tag = unique("user")
        name = conn.execute(text("select name from app.organisation where organisation_id = :id"),  # type: ignore[attr-defined]
                            {"id": organisation_id}).scalar_one()  # fmt: skip
        user = UserIn(email=f"{tag}@example.org", name=f"User {tag}", role=role, language=language)
        return insert_user(conn, self.settings, organisation_id, name, user)  # type: ignore[arg-type]

    def principal(self, user_id: int) -> Principal:
        with self.engine.connect() as conn:
            row = conn.execute(text(
                "select u.user_id, u.email, u.role, u.organisation_id, o.role as org_role, o.state "
                "from app.user_account u join app.organisation o using (organisation_id) where u.user_id = :id"
            ), {"id": user_id}).one()  # fmt: skip
        return Principal(row.user_id, row.email, row.role, row.organisation_id, row.org_role, row.state)

    def suspend(self, organisation_id: int) -> list[int]:
        root = self.principal(self.members["root"].user_id)
        return suspension.suspend(self.engine, self.settings, self.registry, root, organisation_id,
                                  "suspended by the test world")  # fmt: skip

    # ------------------------------------------------------------------ calling

    def token(self, user_id: int) -> str:
        p = self.principal(user_id)
        with self.engine.connect() as conn:
            version = conn.execute(text("select session_version from app.user_account where user_id = :id"),
                                   {"id": user_id}).scalar_one()  # fmt: skip
        claims = Claims(p.user_id, p.role, p.organisation_id, p.organisation_role, p.organisation_state, False, version)
        return issue_token(claims, self.settings.token_secret(), 3600)

    def headers(self, caller: str) -> dict[str, str]:
        """Credentials of ``caller``; the API caller gets a fresh key each time (issuing revokes the last one)."""
        if caller == "anonymous":
            return {}
        member = self.members[caller]
        if caller == "api_key":
            with self.engine.begin() as conn:
                principal = self.principal(member.user_id)
                issued = api_keys.issue_key(conn, self.settings, principal, member.user_id)
            return {"api-key": issued.key}
        return {"Authorization": f"Bearer {self.token(member.user_id)}"}


def build_world(engine: Engine, settings: Settings, registry: Registry) -> World:
    world = World(engine, settings, registry)
    result = setup(engine, settings)
    with engine.begin() as conn:
        conn.execute(text("update app.user_account set must_change_password = false"))
    world.government = result.government_id
    world.members["root"] = Member(result.root_user_id, "Root", world.government)
    for role in ("Admin", "Manager", "ViewOnly"):
        world.members[f"gov_{role.lower()}"] = Member(world.user(world.government, role), role, world.government)
    world.developer = world.organisation("ProgrammeDeveloper", admin=False, name="Developer Ltd")
    for role in ("Admin", "Manager", "ViewOnly"):
        world.members[f"dev_{role.lower()}"] = Member(world.user(world.developer, role), role, world.developer)
    world.certifier = world.organisation("Certifier", admin=False, name="Certifier SA")
    world.members["cert_admin"] = Member(world.user(world.certifier, "Admin"), "Admin", world.certifier)
    world.api_org = world.organisation("API", admin=False, name="MRV System")
    world.members["api_key"] = Member(world.user(world.api_org, "Admin"), "Admin", world.api_org)
    world.suspended = world.organisation("ProgrammeDeveloper", admin=False, name="Suspended Ltd")
    world.members["suspended_admin"] = Member(world.user(world.suspended, "Admin"), "Admin", world.suspended)
    world.suspend(world.suspended)
    return world

"""The identity permission matrix (reference §4.1 and §4.3), in one place.

Every identity endpoint asks this module, and every list applies its row filter, so the rules below are the
only statement of who may do what. The organisation's *current* state is read per request (not from the
token), so a suspension makes its users read-only at once.

| action                         | who                                                                     |
|--------------------------------|-------------------------------------------------------------------------|
| read organisations             | every authenticated caller                                              |
| create an organisation (+Admin)| Root; Admin of the Government or of an API organisation                 |
| update an organisation, logo   | Root or Admin of that organisation                                      |
| suspend / activate             | Root; Government Admin or Manager (never the Government itself)         |
| read users                     | Root and Government users: all; others: their own organisation's        |
| create a user                  | Root, Government Admin: any organisation (another organisation only     |
|                                | while it has no Admin); other Admins: their own organisation            |
| update a user                  | oneself (name, phone, language); Root or Admin of the user's            |
|                                | organisation (also role); never Root by another, never to Root          |
| delete a user                  | Root or Admin of the user's organisation; never Root, never oneself,    |
|                                | never the organisation's last Admin                                     |
| issue / revoke an API key      | for an Admin of an API organisation: that Admin, or Root                |
| read the audit trail           | Root, Government Admins and Managers: all; other Admins: their          |
|                                | organisation's events                                                   |
| any write                      | refused while the caller's organisation is suspended                    |
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, true

from node.errors import Forbidden, OrganisationSuspended
from node.models.app import audit_event, user_account

ROOT, ADMIN, MANAGER, VIEW_ONLY = "Root", "Admin", "Manager", "ViewOnly"
USER_ROLES = (ROOT, ADMIN, MANAGER, VIEW_ONLY)
GOVERNMENT, DEVELOPER, CERTIFIER, API = "Government", "ProgrammeDeveloper", "Certifier", "API"
DESCRIPTIVE_ROLES = (
    "Ministry", "Academics", "ServiceProvider", "MitigationActivityParticipant", "CarbonCreditBroker",
    "ValidationVerificationEntities", "CommercialBanks", "InvestorsFinanciers", "GovernmentRegulators",
    "Observers", "CivilSocietyOrganization", "InternationalOrganization",
)  # fmt: skip
ORGANISATION_ROLES = (GOVERNMENT, DEVELOPER, CERTIFIER, API, *DESCRIPTIVE_ROLES)
ACTIVE, SUSPENDED = "active", "suspended"


@dataclass(frozen=True)
class Principal:
    """The caller, as the database says now (role, organisation and its state), however it authenticated."""

    user_id: int
    email: str
    role: str
    organisation_id: int
    organisation_role: str
    organisation_state: str
    via_api_key: bool = False
    must_change_password: bool = False

    @property
    def is_root(self) -> bool:
        return self.role == ROOT

    @property
    def in_government(self) -> bool:
        return self.organisation_role == GOVERNMENT

    @property
    def is_admin(self) -> bool:
        """Root or an organisation Admin: the roles that manage their own organisation."""
        return self.role in (ROOT, ADMIN)


@dataclass(frozen=True)
class UserTarget:
    user_id: int
    role: str
    organisation_id: int


def require_writable(principal: Principal) -> None:
    """Suspended organisations are read-only (§4.3)."""
    if principal.organisation_state == SUSPENDED:
        raise OrganisationSuspended("Your organisation is suspended: its users can read but not change anything.")


def authorize_create_organisation(principal: Principal) -> None:
    require_writable(principal)
    if not (principal.is_root or (principal.role == ADMIN and principal.organisation_role in (GOVERNMENT, API))):
        raise Forbidden("Only Root and Admins of the Government or of an API organisation can create organisations.")


def authorize_import(principal: Principal) -> None:
    """The bulk CSV import from the web UI (reference §12.1): Root and the Government's Admins, as the operator's
    ``registry import`` command on the node itself."""
    require_writable(principal)
    if not (principal.is_root or (principal.in_government and principal.role == ADMIN)):
        raise Forbidden("Only Root and Government Admins can import organisations and users.")


def authorize_update_organisation(principal: Principal, organisation_id: int) -> None:
    require_writable(principal)
    if not (principal.is_admin and principal.organisation_id == organisation_id):
        raise Forbidden("Only the organisation's own Admins (or Root, for the Government) can update it.")


def authorize_change_organisation_state(principal: Principal) -> None:
    require_writable(principal)
    if not (principal.is_root or (principal.in_government and principal.role in (ADMIN, MANAGER))):
        raise Forbidden("Only Root and Government Admins or Managers can suspend or activate organisations.")


def visible_users(principal: Principal) -> ColumnElement[bool]:
    """Row filter of every user query: the users this caller may read."""
    if principal.is_root or principal.in_government:
        return true()
    return user_account.c.organisation_id == principal.organisation_id


def can_see_user(principal: Principal, target: UserTarget) -> bool:
    return principal.is_root or principal.in_government or target.organisation_id == principal.organisation_id


def authorize_create_user(
    principal: Principal, organisation_id: int, organisation_role: str, organisation_has_admin: bool
) -> None:
    """Creating a user in an existing organisation (creation with a new one is ``authorize_create_organisation``)."""
    require_writable(principal)
    if not principal.is_admin:
        raise Forbidden("Only Root and Admins can create users.")
    if principal.organisation_id == organisation_id:
        return
    if not (principal.is_root or principal.in_government):
        raise Forbidden("Admins can create users only in their own organisation.")
    if organisation_has_admin and organisation_role != GOVERNMENT:
        raise Forbidden("That organisation already has an Admin, who manages its users.")


def authorize_update_user(principal: Principal, target: UserTarget, changes: set[str]) -> None:
    require_writable(principal)
    if target.user_id == principal.user_id:
        forbidden = changes & {"role", "email", "organisation_id"}
        if forbidden:
            raise Forbidden("Users cannot change their own {fields}.", params={"fields": ", ".join(sorted(forbidden))})
        return
    if target.role == ROOT:
        raise Forbidden("Only Root can update Root.")
    if not (principal.is_admin and principal.organisation_id == target.organisation_id):
        raise Forbidden("Only Root and Admins of the user's organisation can update other users.")


def authorize_delete_user(principal: Principal, target: UserTarget) -> None:
    require_writable(principal)
    if target.role == ROOT:
        raise Forbidden("Root cannot be deleted.")
    if target.user_id == principal.user_id:
        raise Forbidden("Users cannot delete their own account; ask an Admin of your organisation.")
    if not (principal.is_admin and principal.organisation_id == target.organisation_id):
        raise Forbidden("Only Root and Admins of the user's organisation can delete its users.")


def authorize_api_keys(principal: Principal, target: UserTarget, target_organisation_role: str) -> None:
    """API keys exist only for Admins of API organisations; the Admin manages its own, Root any."""
    require_writable(principal)
    if not (principal.is_root or principal.user_id == target.user_id):
        raise Forbidden("Only the API Admin itself or Root can manage its API keys.")
    if target.role != ADMIN or target_organisation_role != API:
        raise Forbidden("API keys are issued only to Admins of API organisations.")


def authorize_read_audit(principal: Principal) -> None:
    if not (principal.is_admin or (principal.in_government and principal.role == MANAGER)):
        raise Forbidden("Only Root, Admins and Government Managers can read the audit trail.")


def visible_audit_events(principal: Principal) -> ColumnElement[bool]:
    if principal.is_root or principal.in_government:
        return true()
    return audit_event.c.organisation_id == principal.organisation_id

"""Who sees which programmes in the statistics: the same rule as every programme list (reference §4.2, §11).

Root, the Government and API Admins see every programme. Everyone else sees the authorised ones, plus, for a
developer, those it owns, and for a certifier, those it certifies: ``Scope.extra`` selects the ids of those, which
the queries add to the authorised summaries. "Only mine" narrows to the caller's organisation: a certifier's
programmes are those it certifies; anyone else's are those it owns (weighted by its share) or holds credits of.
"""

from __future__ import annotations

from dataclasses import dataclass

from node.identity.permissions import API, CERTIFIER, DEVELOPER, VIEW_ONLY, Principal

OWNED = "select programme_id from chain.programme_owner where account_id = :org"
CERTIFIED = "select programme_id from chain.programme_certifier where certifier_id = :org and certified"


@dataclass(frozen=True)
class Scope:
    """The caller's view: ``everything``, or the authorised programmes plus the ids ``extra`` selects (SQL)."""

    organisation_id: int
    everything: bool
    extra: str | None
    certifier: bool
    officer: bool

    @property
    def mine(self) -> str:
        """The programmes "only mine" starts from: certified by the caller (certifier) or owned by it."""
        return CERTIFIED if self.certifier else OWNED


def scope_of(principal: Principal) -> Scope:
    everything = (
        principal.is_root or principal.in_government or (principal.organisation_role == API and principal.is_admin)
    )
    extra = None
    if not everything and principal.organisation_role == DEVELOPER:
        extra = OWNED
    elif not everything and principal.organisation_role == CERTIFIER:
        extra = CERTIFIED
    return Scope(
        organisation_id=principal.organisation_id,
        everything=everything,
        extra=extra,
        certifier=principal.organisation_role == CERTIFIER,
        officer=principal.is_root or (principal.in_government and principal.role != VIEW_ONLY),
    )

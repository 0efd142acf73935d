"""Who may do what with the calculator.

| action                           | who                                                                   |
|----------------------------------|-----------------------------------------------------------------------|
| estimate credits, read constants | every authenticated caller (incl. API keys: MRV systems preview)      |
| set a new version of constants   | Root; Government Admins and Managers (not ViewOnly); never while the  |
|                                  | caller's organisation is suspended                                    |

The seed gave ``updateConfigs`` to the "Update Programme" ability (Government Admin/Manager and Root); the same
callers here, stated with the identity matrix's own role constants and helpers.
"""

from __future__ import annotations

from node.errors import Forbidden
from node.identity.permissions import ADMIN, MANAGER, Principal, require_writable


def authorize_set_constants(principal: Principal) -> None:
    """Constants decide every future estimate, so only the Government's managing roles may change them."""
    require_writable(principal)
    if not (principal.is_root or (principal.in_government and principal.role in (ADMIN, MANAGER))):
        raise Forbidden("Only Root and Government Admins or Managers can change the calculator's constants.")

"""The anonymous reader: what ``node.programmes.permissions.visible_programmes`` shows a caller with no role.

Why a principal rather than a filter of our own: every programme query (list, detail, blocks, history) already
applies ``visible_programmes``, so the public pages read through the same statements as the API, and a rule about
what is public stays in the permission matrix. A caller that is neither Root, Government, an API Admin, a developer
nor a certifier sees authorised programmes only; ``may_see_actor`` never names a user to it (no organisation is 0).
"""

from __future__ import annotations

from node.identity.permissions import Principal

PUBLIC = Principal(
    user_id=0, email="", role="Public", organisation_id=0, organisation_role="Public", organisation_state="active"
)
"""Reads as nobody in particular: authorised programmes only, no actor names in histories."""

"""The caller's own credits and the requests waiting on it (``MY_CREDIT``, ``PENDING_TRANSFER_*``, reference §11.2)."""

from __future__ import annotations

from sqlalchemy import Connection, text

from node.stats.permissions import Scope
from node.stats.schemas import MyCredits, PendingRequests


def my_credits(conn: Connection, scope: Scope) -> MyCredits:
    """Summed over the organisation's holdings: a frozen account's credits are all frozen (as ``/holdings``)."""
    row = conn.execute(text("""
        select coalesce(sum(h.balance), 0), coalesce(sum(h.issued), 0), coalesce(sum(h.received), 0),
               coalesce(sum(h.transferred), 0), coalesce(sum(h.retired), 0),
               coalesce((select frozen from chain.account where account_id = :org), false)
        from chain.holding h where h.account_id = :org"""), {"org": scope.organisation_id}).one()  # fmt: skip
    held, frozen = int(row[0]), bool(row[5])
    return MyCredits(organisation_id=scope.organisation_id, held=held, frozen=held if frozen else 0,
                     available=0 if frozen else held, issued=int(row[1]), received=int(row[2]),
                     transferred=int(row[3]), retired=int(row[4]))  # fmt: skip


def pending_requests(conn: Connection, scope: Scope) -> PendingRequests:
    """Counts of pending requests: sent by the organisation, to approve by it, and, for officers, to recognise."""
    row = conn.execute(text("""
        select (select count(*) from app.credit_transfer
                where state = 'pending' and initiator_organisation_id = :org),
               (select count(*) from app.credit_transfer where state = 'pending' and from_account = :org),
               (select count(*) from app.credit_retirement where state = 'pending' and from_account = :org),
               (select count(*) from app.credit_retirement where state = 'pending' and :officer)
        """), {"org": scope.organisation_id, "officer": scope.officer}).one()  # fmt: skip
    return PendingRequests(transfers_sent=row[0], transfers_to_approve=row[1], retirements_requested=row[2],
                           retirements_to_recognise=row[3])  # fmt: skip

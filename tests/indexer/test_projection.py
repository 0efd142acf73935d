"""Every registry event projects to the expected rows; applying a range twice changes nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, text

from indexer.reconcile import reconcile
from indexer.runner import Indexer
from node.chain.registry import Registry
from node.chain.types import RetirementInput, RetirementType
from node.models import chain
from tests.conftest import GOVERNMENT, authorised_programme, create_programme, details_hash_of, programme_input, ref


def rows(db: Connection, sql: str) -> list[dict[str, Any]]:
    result = [dict(r) for r in db.execute(text(sql)).mappings()]
    db.commit()
    return result


def test_full_lifecycle_projects(registry: Registry, indexer: Indexer, db: Connection) -> None:
    data = programme_input(external_id="LAGOS-SOLAR", owners=(10, 11), shares=(600_000, 400_000), estimate=1000)
    data = data.__class__(**{**data.__dict__, "regions": ("Lagos", "Kano")})
    receipt = registry.create_programme(data, ref())
    pid = int(registry.events(receipt, "ProgrammeCreated")[0]["args"]["programmeId"])
    registry.authorise(pid, 100, ref())
    registry.certify(pid, 50, ref())
    registry.transfer(pid, 10, 20, 25, ref())
    registry.set_omge_rate(1000, ref())
    registry.retire(pid, 11, 10, RetirementInput(RetirementType.CROSS_BORDER, "CH", "Buyer", 1000), ref())
    registry.freeze(20, ref())
    registry.certify(pid, 51, ref())
    registry.revoke_certification(pid, 51, ref())
    registry.freeze(21, ref())
    registry.unfreeze(21, ref())
    registry.pause_transfers(ref())
    rejected = create_programme(registry)
    registry.reject(rejected, ref())
    indexer.catch_up(db)

    programme = rows(db, f"select * from chain.programme where programme_id = {pid}")[0]
    assert (programme["stage"], programme["credit_issued"], programme["credit_retired"]) == ("authorised", 100, 10)
    assert (programme["serial_start"], programme["serial_end"], programme["regions"]) == (1, 1000, ["Lagos", "Kano"])
    assert (programme["sector"], programme["country"], programme["credit_unit"]) == ("energy", "NG", "ITMO")
    assert programme["details_hash"] == details_hash_of("LAGOS-SOLAR")
    assert rows(db, f"select stage from chain.programme where programme_id = {rejected}") == [{"stage": "rejected"}]
    owners = rows(db, f"select account_id, share_ppm from chain.programme_owner where programme_id={pid} order by 1")
    assert owners == [{"account_id": 10, "share_ppm": 600_000}, {"account_id": 11, "share_ppm": 400_000}]
    holdings = {r["account_id"]: r for r in rows(db, f"select * from chain.holding where programme_id = {pid}")}
    assert {
        a: (h["balance"], h["issued"], h["received"], h["transferred"], h["retired"]) for a, h in holdings.items()
    } == {10: (35, 60, 0, 25, 0), 11: (30, 40, 0, 0, 10), 20: (25, 0, 25, 0, 0)}
    blocks = rows(db, f"select block_start, block_end, holder, state, retirement_id from chain.serial_block "
                      f"where programme_id = {pid} order by block_start")  # fmt: skip
    assert [(b["block_start"], b["block_end"], b["holder"], b["state"]) for b in blocks] == [
        (1, 25, 20, "held"), (26, 60, 10, "held"), (61, 69, GOVERNMENT, "retired_international"),
        (70, 70, GOVERNMENT, "retired_omge"), (71, 100, 11, "held"),
    ]  # fmt: skip
    retirement = rows(db, "select * from chain.retirement")[0]
    assert (retirement["retirement_type"], retirement["country"], retirement["beneficiary"]) == (
        "cross_border",
        "CH",
        "Buyer",
    )
    assert (retirement["amount"], retirement["omge_amount"]) == (10, 1)
    assert retirement["ranges"] == [{"start": 61, "end": 69, "source_end": 100}]
    transfer = rows(db, "select * from chain.transfer")[0]
    assert (transfer["from_account"], transfer["to_account"], transfer["amount"]) == (10, 20, 25)
    assert rows(db, "select amount from chain.issuance") == [{"amount": 100}]
    assert rows(db, "select certifier_id, certified from chain.programme_certifier order by 1") == [
        {"certifier_id": 50, "certified": True},
        {"certifier_id": 51, "certified": False},
    ]
    assert rows(db, "select account_id, frozen from chain.account order by 1") == [
        {"account_id": 20, "frozen": True},
        {"account_id": 21, "frozen": False},
    ]
    totals = rows(db, f"select * from chain.programme_owner_totals where programme_id = {pid} order by position")
    assert [(t["account_id"], t["issued"], t["held"], t["transferred"], t["retired"], t["frozen"]) for t in totals] == [
        (10, 60, 35, 25, 0, 0),
        (11, 40, 30, 0, 10, 0),
    ]
    assert rows(db, "select paused, government_account from chain.registry_state") == [
        {"paused": True, "government_account": GOVERNMENT}
    ]
    balances = rows(db, "select account_id, balance, frozen_balance from chain.account_balance order by 1")
    assert balances[-1] == {"account_id": 20, "balance": 25, "frozen_balance": 25}
    retired = rows(db, "select account, total from chain.retired_account_balance order by account")
    assert retired == [{"account": "international", "total": 9}, {"account": "omge", "total": 1}]
    names = [r["name"] for r in rows(db, "select name from chain.event order by block_number, log_index")]
    assert {"ProgrammeCreated", "ProgrammeAuthorised", "CreditsTransferred", "CreditsRetired"} <= set(names)
    locations = rows(db, f"select region_name, status from chain.programme_location where programme_id={pid}")
    assert [r["region_name"] for r in locations] == ["Lagos", "Kano"]


def test_applying_a_range_twice_changes_nothing(registry: Registry, indexer: Indexer, db: Connection) -> None:
    pid = authorised_programme(registry, issue=50)
    registry.transfer(pid, 10, 20, 5, ref())
    indexer.catch_up(db)
    before = {t.name: rows(db, f"select * from chain.{t.name}") for t in chain.SCHEMA_TABLES
              if t.name not in ("indexer_cursor",)}  # fmt: skip
    # Rewind the cursor to the deployment and apply the same blocks again.
    db.execute(text("update chain.indexer_cursor set block_number = :b, block_hash = (select hash from chain.block "
                    "where number = :b)"), {"b": indexer.deploy_block - 1})  # fmt: skip
    db.commit()
    indexer.catch_up(db)
    after = {t.name: rows(db, f"select * from chain.{t.name}") for t in chain.SCHEMA_TABLES
             if t.name not in ("indexer_cursor",)}  # fmt: skip
    for name in before:
        if name == "block":
            continue
        assert after[name] == before[name], name
    assert db.execute(select(chain.indexer_cursor.c.events_applied)).scalar() == len(before["event"])


def test_merged_blocks_project_exactly(registry: Registry, indexer: Indexer, db: Connection) -> None:
    """Merges on receipt (ADR 0015) delete the absorbed block's row and widen the other, in one batch and across
    batches, so the projection lists exactly the contract's blocks; a block id freed by a merge can come back."""
    pid = authorised_programme(registry, issue=10, owners=(10, 11), estimate=100)  # 10: 1-5, 11: 6-10
    registry.issue(pid, 10, ref())  # 10: 11-15, 11: 16-20
    registry.transfer(pid, 10, 20, 3, ref())  # 20: 1-3
    registry.transfer(pid, 10, 20, 2, ref())  # 20: 1-5 (block 3 merged away)
    indexer.catch_up(db)
    assert reconcile(db, registry.contract, registry.client.rpc_url) == []
    registry.transfer(pid, 11, 20, 5, ref())  # 6-10 continues 1-5: block 5 merged away, read back from the database
    registry.transfer(pid, 11, 21, 5, ref())  # 16-20 elsewhere
    registry.transfer(pid, 10, 20, 5, ref())  # 11-15: 20 holds 1-15
    registry.issue(pid, 10, ref())  # 10: 21-25, 11: 26-30
    registry.transfer(pid, 21, 20, 5, ref())  # 16-20: 1-20
    registry.transfer(pid, 20, 22, 3, ref())  # 1-3 leaves: block 3 exists again, at account 22
    registry.transfer(pid, 10, 21, 5, ref())  # 21-25 to 21
    registry.transfer(pid, 21, 20, 5, ref())  # 21-25 joins 4-20
    indexer.catch_up(db)
    assert reconcile(db, registry.contract, registry.client.rpc_url) == []
    held = rows(db, f"select block_start, block_end, holder from chain.serial_block where programme_id = {pid} "
                    "order by block_start")  # fmt: skip
    assert [(b["block_start"], b["block_end"], b["holder"]) for b in held] == [
        (1, 3, 22), (4, 25, 20), (26, 30, 11),
    ]  # fmt: skip
    transfer = rows(db, "select ranges from chain.transfer order by block_number desc limit 1")[0]
    assert transfer["ranges"] == [{"start": 21, "end": 25, "source_end": 25}]


def test_retirement_beneficiary_and_omge_rate_come_from_the_chain(
    registry: Registry, indexer: Indexer, db: Connection
) -> None:
    pid = authorised_programme(registry, issue=100)
    registry.set_omge_rate(250, ref())
    registry.retire(pid, 10, 40, RetirementInput(RetirementType.CROSS_BORDER, "CH", "Climate Fund", 250), ref())
    indexer.catch_up(db)
    assert reconcile(db, registry.contract, registry.client.rpc_url) == []
    retirement = rows(db, "select beneficiary, amount, omge_amount from chain.retirement")[0]
    assert retirement == {"beneficiary": "Climate Fund", "amount": 40, "omge_amount": 1}  # floor(40 x 2.5%)
    assert registry.retirement(1)["beneficiary"] == "Climate Fund"
    names = [r["name"] for r in rows(db, "select name from chain.event order by block_number, log_index")]
    assert "OmgeRateSet" in names  # kept in the journal; the current rate is the contract's view
    db.execute(text("update chain.retirement set beneficiary = 'Someone else'"))
    db.commit()
    found = {d.what for d in reconcile(db, registry.contract, registry.client.rpc_url)}
    assert found == {"retirement 1 beneficiary"}

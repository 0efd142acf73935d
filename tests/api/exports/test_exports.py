"""CSV exports over HTTP (real Anvil, PostgreSQL and indexer): each export, parsed back, holds exactly what its list
shows the same caller for the same filters, in the same order; formulas are neutralised; the rows come through a
server-side cursor in batches, and an abandoned download returns its connection."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from starlette.requests import ClientDisconnect
from starlette.types import Message

from api.exports import CSVResponse
from node.credits.transfers import TransferFilters
from node.exports import csv_stream, tables
from tests.api.credits.test_retirements import CROSS_BORDER, retire
from tests.api.credits.test_transfers import authorised, send
from tests.api.identity.world import World, unique
from tests.api.programmes.test_programme_lifecycle import create

PROGRAMME_HEADER = [
    "programme_id", "serial_number", "title", "external_id", "stage", "sector", "sectoral_scope",
    "type_of_mitigation", "country", "credit_unit", "start_time", "end_time", "credit_estimate", "credit_issued",
    "credit_retired", "serial_start", "serial_end", "owner_ids", "owner_names", "owner_tax_ids", "owner_percentages",
    "certifier_ids", "certifier_names", "revoked_certifier_ids", "revoked_certifier_names", "regions",
    "details_revision", "details_hash", "anchored_details_hash", "details_verified", "created_block",
    "authorised_block", "updated_block",
]  # fmt: skip
TRANSFER_HEADER = [
    "transfer_id", "programme_id", "from_organisation_id", "from_name", "to_organisation_id", "to_name", "amount",
    "state", "remarks", "initiator_organisation_id", "initiator_user_id", "decision_remarks", "tx_hash", "tx_hashes",
    "block_number", "created_at", "updated_at",
]  # fmt: skip
RETIREMENT_HEADER = [
    "retirement_id", "programme_id", "from_organisation_id", "from_name", "retirement_type", "country", "beneficiary",
    "amount", "omge_bps", "omge_amount", "international_amount", "state", "remarks", "initiator_organisation_id",
    "initiator_user_id", "decision_remarks", "chain_retirement_ids", "tx_hashes", "block_number", "created_at",
    "updated_at",
]  # fmt: skip
HEADERS = {"programmes": PROGRAMME_HEADER, "transfers": TRANSFER_HEADER, "retirements": RETIREMENT_HEADER}
FLATTENED = {f"{prefix}{name}_{plural}": (f"{prefix}{name}s", key)
             for prefix, name, keys in (("", "owner", ("organisation_id", "name", "tax_id", "percentage")),
                                        ("", "certifier", ("organisation_id", "name")),
                                        ("revoked_", "certifier", ("organisation_id", "name")))
             for key in keys for plural in [{"organisation_id": "ids", "name": "names", "tax_id": "tax_ids",
                                             "percentage": "percentages"}[key]]}  # fmt: skip
TIMES = {"start_time", "end_time", "created_at", "updated_at"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def exported(api: TestClient, caller: str, world: World, kind: str, **query: Any) -> list[dict[str, str]]:
    """The export parsed back, after checking it is a CSV attachment with the expected header."""
    response = api.get(f"/exports/{kind}.csv", params=query, headers=world.headers(caller))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith(f'attachment; filename="{kind}-'), disposition
    assert disposition.endswith('.csv"'), disposition
    header, *rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"), newline="")))
    assert header == HEADERS[kind]
    return [dict(zip(header, row, strict=True)) for row in rows]


def listed(api: TestClient, caller: str, world: World, kind: str, **query: Any) -> list[dict[str, Any]]:
    """Every item of the list for these filters, following its pages."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = api.get(f"/{kind}", params=query | {"limit": 7} | ({"after": cursor} if cursor else {}),
                       headers=world.headers(caller))  # fmt: skip
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


def as_cell(value: Any) -> str:
    """What the export should write for a value of the list's JSON (times compared apart)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(as_cell(element) for element in value)
    text = str(value)
    return "'" + text if isinstance(value, str) and text.startswith(FORMULA_STARTS) else text


def as_row(item: dict[str, Any], kind: str) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for column in HEADERS[kind]:
        if column in FLATTENED:
            name, key = FLATTENED[column]
            row[column] = as_cell([element[key] for element in item[name]])
        elif column in TIMES:
            row[column] = datetime.fromisoformat(item[column])
        else:
            row[column] = as_cell(item[column])
    return row


def assert_export_is_the_list(api: TestClient, world: World, caller: str, kind: str, **query: Any) -> list[str]:
    """The export equals the list, row for row; returns the exported ids (first column)."""
    rows = exported(api, caller, world, kind, **query)
    for row in rows:
        for column in TIMES & set(row):
            assert row[column].endswith("Z"), row[column]  # ISO 8601 UTC
            row[column] = datetime.fromisoformat(row[column])  # type: ignore[assignment]
    expected = [as_row(item, kind) for item in listed(api, caller, world, kind, **query)]
    assert rows == expected
    return [row[HEADERS[kind][0]] for row in rows]


def test_the_programme_export_is_each_callers_list(app_client: TestClient, world: World) -> None:
    formula = '=HYPERLINK("http://evil.example","Click")'
    own = create(app_client, world, caller="dev_admin", title=formula)["programme_id"]  # awaiting: its owner's
    public = authorised(app_client, world, 100)
    every = assert_export_is_the_list(app_client, world, "gov_viewonly", "programmes")
    developers = assert_export_is_the_list(app_client, world, "dev_admin", "programmes")
    certifiers = assert_export_is_the_list(app_client, world, "cert_admin", "programmes")
    assert {str(own), str(public)} <= set(every) & set(developers)
    assert str(public) in certifiers
    assert str(own) not in certifiers  # awaiting authorisation, not the certifier's: hidden as in its list
    assert set(certifiers) < set(every)
    row = next(r for r in exported(app_client, "gov_admin", world, "programmes") if r["programme_id"] == str(own))
    assert row["title"] == "'" + formula
    assert row["owner_ids"] == str(world.developer)
    assert row["owner_percentages"] == "100.0"  # as the list shows it
    assert row["stage"] == "AwaitingAuthorization"


@pytest.mark.parametrize("query", [
    {"stage": "Authorised", "sort": "title", "order": "desc"},
    {"q": "HYPERLINK", "sort": "start_time"},
    {"sector": "Energy", "sectoral_scope": 1, "sort": "credit_issued", "order": "desc"},
    {"starts_from": "2024-03-01T00:00:00Z", "starts_before": "2024-03-02T00:00:00Z", "sort": "created_block"},
])  # fmt: skip
def test_the_programme_export_takes_the_lists_filters_and_sort(
    app_client: TestClient, world: World, query: dict[str, Any]
) -> None:
    create(app_client, world, caller="dev_admin", title="=HYPERLINK(1)")
    authorised(app_client, world, 50)
    for caller in ("gov_viewonly", "dev_manager"):
        assert_export_is_the_list(app_client, world, caller, "programmes", **query)
    owned = assert_export_is_the_list(app_client, world, "gov_viewonly", "programmes", owner=world.developer,
                                      stage="AwaitingAuthorization")  # fmt: skip
    everything = assert_export_is_the_list(app_client, world, "gov_viewonly", "programmes")
    assert owned
    assert set(owned) < set(everything)


def send_remarking(api: TestClient, world: World, caller: str, pid: int, sender: int, receiver: int, amount: int,
                   remarks: str) -> Any:  # fmt: skip
    """``send`` with remarks (the field the exports must neutralise)."""
    body = {"programme_id": pid, "from_organisation_id": sender, "to_organisation_id": receiver, "amount": amount,
            "remarks": remarks}  # fmt: skip
    return api.post("/transfers", json=body, headers=world.headers(caller) | {"Idempotency-Key": unique("export-")})


def test_the_transfer_and_retirement_exports_are_each_callers_list(app_client: TestClient, world: World) -> None:
    dev, cert, gov = world.developer, world.certifier, world.government
    pid = authorised(app_client, world, 100)
    sent = send_remarking(app_client, world, "dev_admin", pid, dev, cert, 10, "@SUM(A1)")
    assert sent.status_code == 201, sent.text
    asked = send_remarking(app_client, world, "cert_admin", pid, dev, cert, 5, "-2+3")  # pending, both parties see it
    assert asked.status_code == 201, asked.text
    theirs = send(app_client, world, "cert_admin", pid, cert, gov, 2)  # not the developer's business
    assert theirs.status_code == 201, theirs.text
    requested = retire(app_client, world, "dev_admin", pid, dev, amount=5, remarks="+cmd|' /C calc'!A0", **CROSS_BORDER)
    assert requested.status_code == 201, requested.text
    retired = retire(app_client, world, "gov_admin", pid, cert, amount=3, **CROSS_BORDER)
    assert retired.status_code == 201, retired.text

    for caller in ("gov_viewonly", "dev_admin", "cert_admin", "api_key"):
        transfers = assert_export_is_the_list(app_client, world, caller, "transfers")
        retirements = assert_export_is_the_list(app_client, world, caller, "retirements")
        if caller == "gov_viewonly":
            assert {str(t.json()["transfer_id"]) for t in (sent, asked, theirs)} <= set(transfers)
            assert {str(r.json()["retirement_id"]) for r in (requested, retired)} <= set(retirements)
        if caller == "dev_admin":
            assert str(theirs.json()["transfer_id"]) not in transfers
            assert str(retired.json()["retirement_id"]) not in retirements
        if caller == "api_key":
            assert transfers == retirements == []

    rows = {r["transfer_id"]: r for r in exported(app_client, "dev_admin", world, "transfers", programme_id=pid)}
    assert rows[str(sent.json()["transfer_id"])]["remarks"] == "'@SUM(A1)"
    assert rows[str(asked.json()["transfer_id"])]["remarks"] == "'-2+3"
    assert rows[str(sent.json()["transfer_id"])]["tx_hashes"] == sent.json()["tx_hash"]
    mine = exported(app_client, "dev_admin", world, "retirements", programme_id=pid)
    assert [r["remarks"] for r in mine] == ["'+cmd|' /C calc'!A0"]
    assert [r["retirement_type"] for r in mine] == ["cross_border"]


@pytest.mark.parametrize(("kind", "query"), [
    ("transfers", {"state": "executed", "order": "asc"}),
    ("transfers", {"state": "pending", "created_from": "2000-01-01T00:00:00+01:00"}),
    ("transfers", {"created_before": "2000-01-01T00:00:00Z"}),
    ("retirements", {"retirement_type": "cross_border", "order": "asc"}),
    ("retirements", {"state": "pending", "state_unknown_parameters_are_ignored": "1"}),
])  # fmt: skip
def test_the_credit_exports_take_the_lists_filters(
    app_client: TestClient, world: World, kind: str, query: dict[str, Any]
) -> None:
    pid = authorised(app_client, world, 100)
    assert send(app_client, world, "dev_admin", pid, world.developer, world.certifier, 4).status_code == 201
    assert send(app_client, world, "cert_admin", pid, world.developer, world.certifier, 1).status_code == 201
    assert retire(app_client, world, "dev_admin", pid, world.developer, amount=2, **CROSS_BORDER).status_code == 201
    for caller in ("gov_viewonly", "dev_admin", "cert_admin"):
        assert_export_is_the_list(app_client, world, caller, kind, **query)
        assert_export_is_the_list(app_client, world, caller, kind, **query, programme_id=pid,
                                  organisation_id=world.developer)  # fmt: skip


@pytest.mark.parametrize("kind", ["programmes", "transfers", "retirements"])
def test_an_unauthenticated_export_is_refused(app_client: TestClient, kind: str) -> None:
    response = app_client.get(f"/exports/{kind}.csv")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("kind", "query"), [
    ("programmes", {"stage": "Nope"}), ("programmes", {"sort": "password_hash"}), ("programmes", {"order": "up"}),
    ("programmes", {"sectoral_scope": 16}), ("programmes", {"owner": 0}), ("programmes", {"q": "x" * 201}),
    ("programmes", {"starts_from": "yesterday"}),
    ("transfers", {"state": "lost"}), ("transfers", {"programme_id": 2**40}),
    ("transfers", {"created_from": "2024-01-01T00:00:00"}),  # no UTC offset
    ("retirements", {"retirement_type": "gift"}), ("retirements", {"organisation_id": -1}),
    ("retirements", {"order": "sideways"}),
])  # fmt: skip
def test_a_bad_filter_gets_a_422_problem(
    app_client: TestClient, world: World, kind: str, query: dict[str, Any]
) -> None:
    response = app_client.get(f"/exports/{kind}.csv", params=query, headers=world.headers("gov_admin"))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/validation-error"
    assert app_client.get(f"/{kind}", params=query, headers=world.headers("gov_admin")).status_code == 422


def _open_fetches(world: World) -> list[str]:
    """Queries of other sessions still inside a server-side cursor's transaction."""
    with world.engine.connect() as conn:
        return list(conn.execute(text(
            "select query from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() "
            "and state = 'idle in transaction' and query ilike 'fetch%'"
        )).scalars())  # fmt: skip


def test_rows_come_through_a_server_side_cursor_in_batches(
    app_client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = authorised(app_client, world, 100)
    for _ in range(5):
        assert send(app_client, world, "dev_admin", pid, world.developer, world.certifier, 1).status_code == 201
    monkeypatch.setattr(csv_stream, "BATCH_ROWS", 2)
    principal = world.principal(world.members["gov_viewonly"].user_id)
    rows = tables.transfer_rows(world.engine, principal, TransferFilters(programme_id=pid), newest_first=False)
    try:
        fetches = _open_fetches(world)  # the first batch is read before any byte is sent
        assert len(fetches) == 1, fetches
        fetch, forward, count = fetches[0].upper().split()[:3]  # a cursor in PostgreSQL, read a batch at a time
        assert (fetch, forward) == ("FETCH", "FORWARD"), fetches
        assert 1 <= int(count) <= 2, fetches
        batches = list(rows)
    finally:
        rows.close()
    assert [len(batch) for batch in batches] == [2, 2, 1]
    assert [item["amount"] for batch in batches for item in batch] == [1] * 5
    assert _open_fetches(world) == []  # the last batch returned the connection


def _transfer_export(app_client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch) -> CSVResponse:
    """The Government's export of a fresh programme's three transfers, a row per batch, as the endpoint makes it."""
    pid = authorised(app_client, world, 100)
    for _ in range(3):
        assert send(app_client, world, "dev_admin", pid, world.developer, world.certifier, 1).status_code == 201
    monkeypatch.setattr(csv_stream, "BATCH_ROWS", 1)
    principal = world.principal(world.members["gov_viewonly"].user_id)
    rows = tables.transfer_rows(world.engine, principal, TransferFilters(programme_id=pid), newest_first=True)
    return CSVResponse(rows, tables.TRANSFER_COLUMNS, "transfers")


def test_a_client_leaving_mid_download_returns_the_connection(
    app_client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    response = _transfer_export(app_client, world, monkeypatch)
    bodies: list[bytes] = []

    async def download_a_little() -> None:
        left = anyio.Event()

        async def receive() -> Message:
            await left.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.body":
                bodies.append(message["body"])
                if len(bodies) == 2:  # the header, then one row: the client goes away
                    assert len(_open_fetches(world)) == 1
                    left.set()
                    await anyio.sleep(1)  # cancelled by the disconnect

        await response({"type": "http", "asgi": {"spec_version": "2.3"}}, receive, send)

    anyio.run(download_a_little)
    assert bodies[0].decode().startswith("transfer_id,programme_id,")
    assert bodies[1].decode().count("\r\n") == 1
    assert len(bodies) == 2
    assert _open_fetches(world) == []


def test_a_client_gone_before_the_first_byte_returns_the_connection(
    app_client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    response = _transfer_export(app_client, world, monkeypatch)
    assert len(_open_fetches(world)) == 1

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(_message: Message) -> None:
        raise OSError("connection reset")

    with pytest.raises(ClientDisconnect):
        anyio.run(response, {"type": "http", "asgi": {"spec_version": "2.4"}}, receive, send)
    assert _open_fetches(world) == []


@pytest.mark.parametrize("kind", ["programmes", "transfers", "retirements"])
def test_each_export_is_documented_as_csv_with_its_lists_parameters(app_client: TestClient, kind: str) -> None:
    paths = app_client.get("/openapi.json").json()["paths"]
    export, listing = paths[f"/exports/{kind}.csv"]["get"], paths[f"/{kind}"]["get"]
    assert export["responses"]["200"]["content"] == {"text/csv": {"schema": {"type": "string"}}}
    assert {"401", "403", "422", "503"} <= set(export["responses"])
    page = {"limit", "after"}
    assert export["parameters"] == [p for p in listing["parameters"] if p["name"] not in page]

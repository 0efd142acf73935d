"""The analytics API over HTTP on a registry-sized database: each statistic, and a whole Government dashboard.

    python -m bench.analytics [--programmes 100000] [--requests 200] [--quick]

Run it from the repository root. It starts a real node with tests/runtime/node.py, as bench/api.py does (``registry
up`` in a subprocess on a temporary data directory, with its own Anvil and the API with its indexer), on a fresh
database of ``DATABASE_URL``'s server (or of an embedded server when unset). Sets it up through the API: Root signs
in and changes its first password, creates a Government Admin and two developer and two certifier organisations;
their Admins get sessions signed with the node's ``JWT_SECRET``, as the API tests do.

Then it bulk-loads, with COPY and the summary triggers off, the projections an indexer would have written after five
years (why synthetic rows: a hundred thousand programmes through the contract would take hours, and the statistics
read only the projections): N programmes created uniformly over five years in every sector, at realistic stages
(recent ones mostly awaiting authorisation), with one to three owners whose shares sum to 10^6 ppm (the
organisations above among thousands of synthetic accounts); each authorised programme's serial range reserved from
one counter, its issuance apportioned among its owners and cut into serial blocks, each block either kept, transferred
(once or twice), or retired (cross-border with a country and the OMGE part, legal action or other) at times between
its authorisation and now. Holdings, issuances, transfers, retirements, blocks and the programme's issued and retired
credits all follow from those moves, so they agree exactly; the load checks that they do (balances = issued -
retired, blocks partition each issued range, the blocks held = the balances...). Also: certifications and
revocations, frozen accounts, resolved locations (a few hundred distinct coordinates), one ``chain.event`` per
creation, decision, issuance, certification, transfer and retirement, and the ``app`` requests behind the
transfers and retirements (executed, approved, recognised...) with some pending ones, also for the organisations
above. Then ``analyze`` and ``chain.stats_rebuild()``.

Measured over one keep-alive connection after a warm-up, ``--requests`` times each: every statistic through
``GET /stats/{type}`` for the Government Admin (overall, the last 14 days by day, five years by month), with
``only_mine`` for a developer's and a certifier's Admin, ``GET /public/stats``, and the Government dashboard of the
reference's §11.3 in one ``POST /stats``. Any answer other than 200 is printed and the exit status is 1.
Prints a table; the last line is JSON with ``programmes``, ``blocks``, ``transfers_and_retirements``,
``dashboard_p50_ms``, ``dashboard_p95_ms``, ``slowest_stat_p95_ms`` and ``slowest_stat``.
Targets (reported, never failed on): dashboard_p95_ms <= 150, slowest_stat_p95_ms <= 50.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from bench.api import REQUEST_TIMEOUT, BenchNode, _expect, _organisation, _root_session, _session
from bench.indexer import _database
from node.chain.types import BPS, PPM, Sector
from node.identity.permissions import CERTIFIER, DEVELOPER, GOVERNMENT
from node.security.tokens import Claims, issue_token

DASHBOARD_TARGET_MS = 150.0
STAT_TARGET_MS = 50.0
QUICK_PROGRAMMES = 2_000
QUICK_REQUESTS = 10
WARMUP = 5
"""Unmeasured requests per probe first: the connection pool, the plans and the pages are warm, as in service."""

PROGRAMME_BASE = 1_000_000_000
"""Synthetic programme ids start here: the contract numbers the node's own programmes from 1."""
ACCOUNT_BASE = 10_000_000
CERTIFIER_BASE = 20_000_000
"""Synthetic accounts and certifiers: far above the organisation ids the node gives (its account ids)."""
SERIAL_BASE = 10**15
RETIREMENT_BASE = 10**12
YEARS = 5
RECENT_DAYS = 90
"""Programmes younger than this are mostly still awaiting authorisation."""
OMGE_BPS = 200
DEVELOPER_SHARE = 0.004
"""How often each created developer is drawn as an owner or a receiver: hundreds of programmes at full size."""
CERTIFIER_SHARE = 0.02
CHUNK = 2_000
"""Programmes per COPY round: the rows of one round are held in memory."""

SECTORS = [s.name.lower() for s in Sector]
STAGES = ("awaiting_authorization", "authorised", "rejected")
COUNTRIES = ("DE", "FR", "GB", "JP", "KR", "SG", "CH", "SE", "NO", "US", "CA", "AU", "NL", "DK", "FI", "IT", "ES",
             "BE", "AT", "NZ", "GH", "KE", "ZA", "BR", "AE")  # fmt: skip
KINDS = ("cross_border", "cross_border", "legal_action", "other")
REGIONS = Path(__file__).resolve().parent.parent / "indexer" / "locations" / "data" / "regions.csv"
DISTRICTS = 8
"""Named places per region of the registry country: a few hundred distinct coordinates in all."""

COLUMNS = {
    "chain.programme": "programme_id, external_id, stage, sector, sectoral_scope, country, credit_unit, start_time, "
    "end_time, credit_estimate, credit_issued, credit_retired, serial_start, serial_end, regions, details_hash, "
    "created_block, authorised_block, updated_block, created_at",
    "chain.programme_owner": "programme_id, position, account_id, share_ppm",
    "chain.programme_certifier": "programme_id, certifier_id, certified, updated_block",
    "chain.programme_location": "programme_id, position, region_name, status, iso_code, latitude, longitude, "
    "provider, attempts, updated_at",
    "chain.holding": "programme_id, account_id, balance, issued, received, transferred, retired, updated_block",
    "chain.serial_block": "block_end, block_start, programme_id, holder, state, retirement_id, updated_block",
    "chain.issuance": "tx_hash, log_index, block_number, programme_id, amount, total_issued, request_ref, blocks",
    "chain.transfer": "tx_hash, log_index, block_number, programme_id, from_account, to_account, amount, request_ref, "
    "ranges",
    "chain.retirement": "retirement_id, tx_hash, log_index, block_number, programme_id, from_account, "
    "retirement_type, country, beneficiary, government_account, amount, omge_amount, request_ref, ranges, "
    "omge_ranges, block_time",
    "chain.event": "tx_hash, log_index, block_number, block_hash, block_time, name, programme_id, request_ref, args",
    "chain.account": "account_id, frozen, updated_block",
    "app.credit_transfer": "programme_id, from_account, to_account, amount, state, initiated_by, "
    "initiator_organisation_id, decided_by, tx_hash, block_number, created_at, updated_at",
    "app.credit_retirement": "programme_id, from_account, retirement_type, country, beneficiary, amount, omge_bps, "
    "omge_amount, state, initiated_by, initiator_organisation_id, chain_retirement_ids, block_number, created_at, "
    "updated_at",
}
LOADED = tuple(COLUMNS)
NULL = "\\N"


# ---------------------------------------------------------------------------------------------- set-up via the API


@dataclass(frozen=True)
class Caller:
    """An Admin with its session: ``organisation_id`` is also its chain account."""

    who: str
    organisation_id: int
    headers: dict[str, str]


@dataclass(frozen=True)
class People:
    government: Caller
    developers: tuple[Caller, ...]
    certifiers: tuple[Caller, ...]


def _government_admin(node: BenchNode, http: httpx.Client, root: dict[str, str]) -> Caller:
    """A Government Admin (Root's organisation), created through ``POST /users`` and signed in by token."""
    me = _expect(http.get("/auth/me", headers=root), 200)
    government = int(me["organisation_id"])
    tag = uuid.uuid4().hex[:10]
    body = {"email": f"gov-{tag}@bench.example.org", "name": f"Officer {tag}", "role": "Admin",
            "organisation_id": government}  # fmt: skip
    user = _expect(http.post("/users", headers=root, json=body), 201)
    claims = Claims(int(user["user_id"]), "Admin", government, GOVERNMENT, "active", must_change_password=False)
    headers = {"Authorization": f"Bearer {issue_token(claims, node.jwt_secret, 3 * 3600)}"}
    checked = _expect(http.get("/auth/me", headers=headers), 200)
    if (checked["role"], checked["organisation_id"]) != ("Admin", government):
        raise RuntimeError(f"/auth/me answered {checked} for the Government Admin")
    return Caller("government admin", government, headers)


def set_up(node: BenchNode, developers: int = 2, certifiers: int = 2) -> People:
    with httpx.Client(base_url=node.api, timeout=REQUEST_TIMEOUT) as http:
        root = _root_session(http, node.root_password)
        government = _government_admin(node, http, root)
        callers: dict[str, list[Caller]] = {DEVELOPER: [], CERTIFIER: []}
        for role, count in ((DEVELOPER, developers), (CERTIFIER, certifiers)):
            for index in range(count):
                org, _, admin = _organisation(http, root, f"Analytics {role} {index}", role)
                headers = _session(node, http, admin, org, role)
                callers[role].append(Caller(f"{'developer' if role == DEVELOPER else 'certifier'} admin", org,
                                            headers))  # fmt: skip
    return People(government, tuple(callers[DEVELOPER]), tuple(callers[CERTIFIER]))


# ---------------------------------------------------------------------------------------------- synthetic projections


def _locations(country: str) -> list[tuple[str, str, float, float]]:
    """(name, ISO 3166-2, latitude, longitude): the country's regions from the region file, each with districts
    around it, as the location worker would have resolved them."""
    with REGIONS.open(newline="") as handle:
        regions = [row for row in csv.DictReader(handle) if row["country"] == country]
    places = []
    for row in regions:
        lat, lon = float(row["latitude"]), float(row["longitude"])
        for k in range(DISTRICTS):
            places.append((f"{row['name']} district {k + 1}", row["iso_3166_2"], round(lat + 0.07 * (k % 3 - 1), 4),
                           round(lon + 0.07 * (k // 3 - 1), 4)))  # fmt: skip
    return places


def _ts(moment: datetime) -> str:
    return moment.isoformat()


def _principal(org: int, role: str = DEVELOPER) -> str:
    """``initiated_by``/``decided_by`` as the credit services store them (``dataclasses.asdict(principal)``)."""
    return (f'{{"user_id": {org % 1_000_000 + 100}, "email": "admin-{org}@bench.example.org", "role": "Admin", '
            f'"organisation_id": {org}, "organisation_role": "{role}", "organisation_state": "active", '
            f'"via_api_key": false, "must_change_password": false}}')  # fmt: skip


@dataclass
class Counts:
    programmes: int = 0
    blocks: int = 0
    transfers: int = 0
    retirements: int = 0
    events: int = 0
    pending: int = 0


class Synthesis:
    """Generates every row of the load as COPY text, programme after programme, from moves of serial ranges."""

    def __init__(self, people: People, government_account: int, cursor_block: int, country: str,
                 programmes: int, seed: int) -> None:  # fmt: skip
        self.rng = random.Random(seed)
        self.people = people
        self.government_account = government_account
        self.government_org = people.government.organisation_id
        self.developers = [d.organisation_id for d in people.developers]
        self.certifiers = [c.organisation_id for c in people.certifiers]
        self.synthetic_accounts = max(200, programmes // 20)
        self.synthetic_certifiers = max(20, programmes // 2_000)
        self.country = country
        self.places = _locations(country)
        if not self.places:
            raise RuntimeError(f"no regions of {country} in {REGIONS}")
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.start = self.now - timedelta(days=round(365.25 * YEARS))
        self.span = (self.now - self.start).total_seconds()
        self.cursor = max(cursor_block, 1)
        self.block_hashes = [hashlib.sha256(f"bench-block-{n}".encode()).hexdigest() for n in range(self.cursor + 1)]
        self.next_serial = SERIAL_BASE
        self.next_retirement = RETIREMENT_BASE
        self.counts = Counts()
        self.rows: dict[str, list[str]] = {table: [] for table in COLUMNS}

    # -- helpers

    def _block(self, moment: datetime) -> int:
        """Event times over five years map onto the chain's blocks so far: no row claims a block not indexed yet."""
        share = (moment - self.start).total_seconds() / self.span
        return min(self.cursor, max(1, 1 + int(share * (self.cursor - 1))))

    def _between(self, first: datetime, last: datetime) -> datetime:
        return first + (last - first) * self.rng.random()

    def _hash(self) -> str:
        return self.rng.randbytes(32).hex()

    def _account(self, *besides: int) -> int:
        while True:
            draw = self.rng.random()
            if draw < DEVELOPER_SHARE * len(self.developers):
                account = self.developers[int(draw / DEVELOPER_SHARE)]
            else:
                account = ACCOUNT_BASE + self.rng.randrange(self.synthetic_accounts)
            if account not in besides:
                return account

    def _certifier(self, *besides: int) -> int:
        while True:
            draw = self.rng.random()
            if draw < CERTIFIER_SHARE * len(self.certifiers):
                certifier = self.certifiers[int(draw / CERTIFIER_SHARE)]
            else:
                certifier = CERTIFIER_BASE + self.rng.randrange(self.synthetic_certifiers)
            if certifier not in besides:
                return certifier

    def _event(self, name: str, moment: datetime, pid: int | None, args: str, tx: str | None = None,
               ref: str | None = None) -> None:  # fmt: skip
        block = self._block(moment)
        ref_field = NULL if ref is None else f"\\\\x{ref}"
        programme = NULL if pid is None else pid
        self.rows["chain.event"].append(f"\\\\x{tx or self._hash()}\t0\t{block}\t\\\\x{self.block_hashes[block]}\t"
                                        f"{_ts(moment)}\t{name}\t{programme}\t{ref_field}\t{args}")  # fmt: skip
        self.counts.events += 1

    # -- one programme

    def programme(self, index: int) -> None:
        rng, rows = self.rng, self.rows
        pid = PROGRAMME_BASE + index
        created = self._between(self.start, self.now - timedelta(minutes=1))
        recent = (self.now - created).days < RECENT_DAYS
        draw = rng.random()
        if draw < (0.6 if recent else 0.06):
            stage = "awaiting_authorization"
        elif draw < (0.68 if recent else 0.14):
            stage = "rejected"
        else:
            stage = "authorised"
        estimate = rng.randrange(5_000, 500_001)
        draw = rng.random()
        owners: list[int] = []
        for _ in range(1 if draw < 0.7 else 2 if draw < 0.9 else 3):
            owners.append(self._account(*owners))
        cuts = sorted(rng.sample(range(1, PPM), len(owners) - 1))
        shares = [b - a for a, b in zip([0, *cuts], [*cuts, PPM], strict=True)]
        places = rng.sample(self.places, 1 if rng.random() < 0.8 else 2)
        start_time = created + timedelta(days=rng.randrange(0, 90))
        end_time = start_time + timedelta(days=365 * rng.randrange(5, 21))
        blocks = [self._block(created)]
        self._event("ProgrammeCreated", created, pid, f'{{"programmeId": {pid}}}')
        for position, (owner, share) in enumerate(zip(owners, shares, strict=True)):
            rows["chain.programme_owner"].append(f"{pid}\t{position}\t{owner}\t{share}")
        for position, (name, iso, lat, lon) in enumerate(places):
            rows["chain.programme_location"].append(f"{pid}\t{position}\t{name}\tresolved\t{iso}\t{lat}\t{lon}\t"
                                                    f"regions\t1\t{_ts(created)}")  # fmt: skip
        serial_start = serial_end = authorised_block = NULL
        issued = retired = 0
        if stage != "awaiting_authorization":
            decided = self._between(created, min(self.now, created + timedelta(days=60)))
            blocks.append(self._block(decided))
            name = "ProgrammeAuthorised" if stage == "authorised" else "ProgrammeRejected"
            self._event(name, decided, pid, f'{{"programmeId": {pid}}}')
            if stage == "authorised":
                authorised_block = str(blocks[-1])
                serial_start, serial_end = str(self.next_serial), str(self.next_serial + estimate - 1)
                first_serial = self.next_serial
                self.next_serial += estimate
                self._certifications(pid, decided, blocks)
                if rng.random() < 0.9:
                    issued = rng.randrange(estimate // 5, estimate + 1)
                    retired = self._issue(pid, first_serial, issued, owners, shares, decided, blocks)
        regions = "{" + ",".join(f'"{name}"' for name, *_ in places) + "}"
        rows["chain.programme"].append(
            f"{pid}\tSYN-{pid}\t{stage}\t{rng.choice(SECTORS)}\t{rng.randrange(1, 16)}\t{self.country}\tITMO\t"
            f"{_ts(start_time)}\t{_ts(end_time)}\t{estimate}\t{issued}\t{retired}\t{serial_start}\t{serial_end}\t"
            f"{regions}\t\\\\x{self._hash()}\t{blocks[0]}\t{authorised_block}\t{max(blocks)}\t{_ts(created)}"
        )  # fmt: skip
        self.counts.programmes += 1

    def _certifications(self, pid: int, authorised: datetime, blocks: list[int]) -> None:
        draw = self.rng.random()
        certifiers: list[int] = []
        for _ in range(0 if draw < 0.4 else 1 if draw < 0.85 else 2):
            certifiers.append(self._certifier(*certifiers))
        for certifier in certifiers:
            moment = self._between(authorised, self.now)
            certified = self.rng.random() < 0.9
            self._event("ProgrammeCertified", moment, pid, f'{{"programmeId": {pid}, "certifier": {certifier}}}')
            if not certified:
                moment = self._between(moment, self.now)
                self._event("CertificationRevoked", moment, pid,
                            f'{{"programmeId": {pid}, "certifier": {certifier}}}')  # fmt: skip
            blocks.append(self._block(moment))
            self.rows["chain.programme_certifier"].append(f"{pid}\t{certifier}\t{'t' if certified else 'f'}\t"
                                                          f"{blocks[-1]}")  # fmt: skip

    def _issue(self, pid: int, first_serial: int, issued: int, owners: list[int], shares: list[int],
               moment: datetime, blocks: list[int]) -> int:  # fmt: skip
        """Issues ``issued`` credits to the owners (largest remainder, as the contract), then moves each owner's
        range piece by piece; writes the blocks, holdings, transfers, retirements and their requests. Returns the
        credits retired."""
        rng = self.rng
        parts = [issued * share // PPM for share in shares]
        by_remainder = sorted(range(len(shares)), key=lambda i: -(issued * shares[i] % PPM))
        for i in by_remainder[: issued - sum(parts)]:
            parts[i] += 1
        holdings: dict[int, list[int]] = {}  # account -> [balance, issued, received, transferred, retired]
        final: list[list[Any]] = []  # [start, end, holder, state, retirement_id, block], in serial order
        issue_block = self._block(moment)
        tx, ref = self._hash(), self._hash()
        minted = []
        pieces = rng.randint(6, 24)
        serial = first_serial
        retired = 0
        for owner, share, part in zip(owners, shares, parts, strict=True):
            if part == 0:
                continue
            minted.append(f'{{"holder": {owner}, "start": {serial}, "end": {serial + part - 1}}}')
            holding = holdings.setdefault(owner, [0, 0, 0, 0, 0])
            holding[0] += part
            holding[1] += part
            count = max(1, min(part, round(pieces * share / PPM)))
            starts = [serial, *sorted(rng.sample(range(serial + 1, serial + part), count - 1))]
            ends = [s - 1 for s in starts[1:]] + [serial + part - 1]
            for start, end in zip(starts, ends, strict=True):
                retired += self._piece(pid, start, end, owner, moment, holdings, final, issue_block)
            serial += part
        self.rows["chain.issuance"].append(f"\\\\x{tx}\t0\t{issue_block}\t{pid}\t{issued}\t{issued}\t\\\\x{ref}\t"
                                           f"[{', '.join(minted)}]")  # fmt: skip
        self._event("CreditsIssued", moment, pid, f'{{"programmeId": {pid}, "amount": {issued}}}', tx, ref)
        for start, end, holder, state, rid, block in final:
            self.rows["chain.serial_block"].append(f"{end}\t{start}\t{pid}\t{holder}\t{state}\t"
                                                   f"{NULL if rid is None else rid}\t{block}")  # fmt: skip
            blocks.append(block)
        self.counts.blocks += len(final)
        last = max(blocks)
        for account, (balance, got, received, sent, gone) in holdings.items():
            self.rows["chain.holding"].append(f"{pid}\t{account}\t{balance}\t{got}\t{received}\t{sent}\t{gone}\t"
                                              f"{last}")  # fmt: skip
        return retired

    def _piece(self, pid: int, start: int, end: int, owner: int, issued_at: datetime,
               holdings: dict[int, list[int]], final: list[list[Any]], issue_block: int) -> int:  # fmt: skip
        """One block's fate: kept (30%), retired by its owner (17%), transferred (25%), transferred twice (10%),
        transferred then retired (18%). Returns the credits retired."""
        draw = self.rng.random()
        first = self._between(issued_at, self.now)
        second = self._between(first, self.now)
        if draw < 0.30:
            self._final(final, [start, end, owner, "held", None, issue_block])
            return 0
        if draw < 0.47:
            return self._retire(pid, start, end, owner, first, holdings, final)
        receiver = self._account(owner)
        self._transfer(pid, start, end, owner, receiver, first, holdings)
        if draw < 0.72:
            self._final(final, [start, end, receiver, "held", None, self._block(first)])
            return 0
        if draw < 0.82:
            last = self._account(receiver)
            self._transfer(pid, start, end, receiver, last, second, holdings)
            self._final(final, [start, end, last, "held", None, self._block(second)])
            return 0
        return self._retire(pid, start, end, receiver, second, holdings, final)

    @staticmethod
    def _final(final: list[list[Any]], block: list[Any]) -> None:
        """Adjacent held blocks of one holder merge, as the contract merges them at the receiver."""
        if final:
            previous = final[-1]
            if previous[3] == block[3] == "held" and previous[2] == block[2] and previous[1] + 1 == block[0]:
                previous[1], previous[5] = block[1], max(previous[5], block[5])
                return
        final.append(block)

    def _transfer(self, pid: int, start: int, end: int, sender: int, receiver: int, moment: datetime,
                  holdings: dict[int, list[int]]) -> None:  # fmt: skip
        amount = end - start + 1
        tx, ref, block = self._hash(), self._hash(), self._block(moment)
        ranges = f'[{{"start": {start}, "end": {end}, "source_end": {end}}}]'
        self.rows["chain.transfer"].append(f"\\\\x{tx}\t0\t{block}\t{pid}\t{sender}\t{receiver}\t{amount}\t"
                                           f"\\\\x{ref}\t{ranges}")  # fmt: skip
        self._event("CreditsTransferred", moment, pid, f'{{"programmeId": {pid}, "from": {sender}, "to": {receiver}, '
                    f'"amount": {amount}}}', tx, ref)  # fmt: skip
        out = holdings.setdefault(sender, [0, 0, 0, 0, 0])
        out[0] -= amount
        out[3] += amount
        into = holdings.setdefault(receiver, [0, 0, 0, 0, 0])
        into[0] += amount
        into[2] += amount
        self.counts.transfers += 1
        # The request behind it: sent at once by the holder, or asked by the receiver and approved.
        if self.rng.random() < 0.8:
            state, initiator, decided = "executed", sender, NULL
        else:
            state, initiator, decided = "approved", receiver, _principal(sender)
        when = _ts(moment)
        self.rows["app.credit_transfer"].append(f"{pid}\t{sender}\t{receiver}\t{amount}\t{state}\t"
                                                f"{_principal(initiator)}\t{initiator}\t{decided}\t\\\\x{tx}\t{block}\t"
                                                f"{when}\t{when}")  # fmt: skip
        draw = self.rng.random()
        if draw < 0.02:  # a later request still waiting, or one that was turned down
            later = _ts(self._between(moment, self.now))
            state = "pending" if draw < 0.01 else self.rng.choice(("rejected", "cancelled"))
            asker = self._account(receiver)
            self.rows["app.credit_transfer"].append(f"{pid}\t{receiver}\t{asker}\t{max(1, amount // 3)}\t{state}\t"
                                                    f"{_principal(asker)}\t{asker}\t{NULL}\t{NULL}\t{NULL}\t{later}\t"
                                                    f"{later}")  # fmt: skip
            self.counts.pending += state == "pending"

    def _retire(self, pid: int, start: int, end: int, holder: int, moment: datetime,
                holdings: dict[int, list[int]], final: list[list[Any]]) -> int:  # fmt: skip
        rng = self.rng
        amount = end - start + 1
        kind = rng.choice(KINDS)
        country = beneficiary = NULL
        omge = 0
        if kind == "cross_border":
            country = rng.choice(COUNTRIES)
            beneficiary = f"Buyer {country} {rng.randrange(1, 40)}"
            omge = amount * OMGE_BPS // BPS
        rid = self.next_retirement
        self.next_retirement += 1
        tx, ref, block = self._hash(), self._hash(), self._block(moment)
        main_state = "retired_international" if kind == "cross_border" else "retired_local"
        ranges = f'[{{"start": {start}, "end": {end - omge}, "source_end": {end}}}]'
        omge_ranges = f'[{{"start": {end - omge + 1}, "end": {end}, "source_end": {end}}}]' if omge else "[]"
        self.rows["chain.retirement"].append(f"{rid}\t\\\\x{tx}\t0\t{block}\t{pid}\t{holder}\t{kind}\t{country}\t"
                                             f"{beneficiary}\t{self.government_account}\t{amount}\t{omge}\t\\\\x{ref}\t"
                                             f"{ranges}\t{omge_ranges}\t{_ts(moment)}")  # fmt: skip
        self._event("CreditsRetired", moment, pid, f'{{"programmeId": {pid}, "retirementId": {rid}, '
                    f'"from": {holder}, "amount": {amount}}}', tx, ref)  # fmt: skip
        final.append([start, end - omge, self.government_account, main_state, rid, block])
        if omge:
            final.append([end - omge + 1, end, self.government_account, "retired_omge", rid, block])
        held = holdings.setdefault(holder, [0, 0, 0, 0, 0])
        held[0] -= amount
        held[4] += amount
        self.counts.retirements += 1
        # The request behind it: a holder's cross-border request recognised, or the Government's own retirement.
        if kind == "cross_border":
            state, initiator, role = "recognised", holder, DEVELOPER
        else:
            state, initiator, role = "retired", self.government_org, GOVERNMENT
        when = _ts(moment)
        self.rows["app.credit_retirement"].append(f"{pid}\t{holder}\t{kind}\t{country}\t{beneficiary}\t{amount}\t"
                                                  f"{OMGE_BPS}\t{omge}\t{state}\t{_principal(initiator, role)}\t"
                                                  f"{initiator}\t[{rid}]\t{block}\t{when}\t{when}")  # fmt: skip
        if rng.random() < 0.02:
            self._pending_retirement(pid, holder, self._between(moment, self.now))
        return amount

    def _pending_retirement(self, pid: int, holder: int, moment: datetime) -> None:
        country = self.rng.choice(COUNTRIES)
        amount = self.rng.randrange(10, 5_000)
        when = _ts(moment)
        self.rows["app.credit_retirement"].append(f"{pid}\t{holder}\tcross_border\t{country}\tBuyer {country}\t"
                                                  f"{amount}\t{OMGE_BPS}\t{amount * OMGE_BPS // BPS}\tpending\t"
                                                  f"{_principal(holder)}\t{holder}\t{NULL}\t{NULL}\t{when}\t"
                                                  f"{when}")  # fmt: skip
        self.counts.pending += 1

    # -- accounts and the created organisations' own requests

    def accounts(self) -> None:
        """Some synthetic accounts frozen (suspended organisations), some frozen once and unfrozen since."""
        for account in range(ACCOUNT_BASE, ACCOUNT_BASE + self.synthetic_accounts):
            draw = self.rng.random()
            if draw >= 0.02:
                continue
            moment = self._between(self.start, self.now)
            self._event("AccountFrozen", moment, None, f'{{"account": {account}}}')
            if draw >= 0.01:
                moment = self._between(moment, self.now)
                self._event("AccountUnfrozen", moment, None, f'{{"account": {account}}}')
            self.rows["chain.account"].append(f"{account}\t{'t' if draw < 0.01 else 'f'}\t{self._block(moment)}")

    def own_requests(self, programmes: int) -> None:
        """Pending requests of the created developers, so their dashboards have some to count."""
        for org in self.developers:
            for _ in range(5):
                pid = PROGRAMME_BASE + self.rng.randrange(programmes)
                other = self._account(org)
                moment = _ts(self._between(self.now - timedelta(days=30), self.now))
                for sender, initiator in ((org, other), (other, org)):
                    receiver = other if sender == org else org
                    self.rows["app.credit_transfer"].append(
                        f"{pid}\t{sender}\t{receiver}\t{self.rng.randrange(1, 1_000)}\tpending\t"
                        f"{_principal(initiator)}\t{initiator}\t{NULL}\t{NULL}\t{NULL}\t{moment}\t{moment}"
                    )  # fmt: skip
                    self.counts.pending += 1
            for _ in range(3):
                pid = PROGRAMME_BASE + self.rng.randrange(programmes)
                self._pending_retirement(pid, org, self._between(self.now - timedelta(days=30), self.now))

    def take(self) -> dict[str, list[str]]:
        rows, self.rows = self.rows, {table: [] for table in COLUMNS}
        return rows


# ---------------------------------------------------------------------------------------------- the load


@dataclass
class Load:
    counts: Counts
    seconds: float
    rebuild_seconds: float
    errors: list[str]
    blocks: int
    """Every serial block in the database (the node's own and the synthetic ones)."""
    programmes: int
    transfers_and_retirements: int


CHECKS = {
    "balances = issued - retired": """
        select (select coalesce(sum(balance), 0) from chain.holding),
               (select coalesce(sum(credit_issued - credit_retired), 0) from chain.programme)""",
    "issued to holders = issued": """
        select (select coalesce(sum(issued), 0) from chain.holding),
               (select coalesce(sum(credit_issued), 0) from chain.programme)""",
    "retired by holders = retirements": """
        select (select coalesce(sum(retired), 0) from chain.holding),
               (select coalesce(sum(amount), 0) from chain.retirement)""",
    "programmes' retired = retirements": """
        select (select coalesce(sum(credit_retired), 0) from chain.programme),
               (select coalesce(sum(amount), 0) from chain.retirement)""",
    "sent by holders = transfers": """
        select (select coalesce(sum(transferred), 0) from chain.holding),
               (select coalesce(sum(amount), 0) from chain.transfer)""",
    "received by holders = transfers": """
        select (select coalesce(sum(received), 0) from chain.holding),
               (select coalesce(sum(amount), 0) from chain.transfer)""",
    "held blocks = balances": """
        select (select coalesce(sum(block_end - block_start + 1), 0) from chain.serial_block where state = 'held'),
               (select coalesce(sum(balance), 0) from chain.holding)""",
    "retired blocks = retirements": """
        select (select coalesce(sum(block_end - block_start + 1), 0) from chain.serial_block where state <> 'held'),
               (select coalesce(sum(amount), 0) from chain.retirement)""",
    "holdings whose blocks differ from their balance": """
        select count(*), 0 from chain.holding h
        full join (select programme_id, holder as account_id, sum(block_end - block_start + 1) as held
                   from chain.serial_block where state = 'held' group by 1, 2) b using (programme_id, account_id)
        where coalesce(h.balance, 0) <> coalesce(b.held, 0)""",
    "holdings whose balance differs from their moves": """
        select count(*), 0 from chain.holding where balance <> issued + received - transferred - retired""",
    "blocks not following on from the previous one": """
        select count(*), 0 from (
            select programme_id, block_start,
                   lag(block_end) over (partition by programme_id order by block_start) as previous
            from chain.serial_block) b join chain.programme p using (programme_id)
        where block_start <> coalesce(previous + 1, p.serial_start)""",
    "programmes whose blocks do not cover what they issued": """
        select count(*), 0 from chain.programme p
        left join (select programme_id, max(block_end) as last, sum(block_end - block_start + 1) as size
                   from chain.serial_block group by 1) b using (programme_id)
        where coalesce(b.size, 0) <> p.credit_issued
           or (p.credit_issued > 0 and b.last <> p.serial_start + p.credit_issued - 1)""",
    "programmes whose shares do not sum to 10^6 ppm": """
        select count(*), 0 from (select programme_id, sum(share_ppm) as total from chain.programme_owner
                                 group by 1) o where total <> 1000000""",
    "summaries count every programme": """
        select (select coalesce(sum(programmes), 0) from chain.programme_month),
               (select count(*) from chain.programme)""",
    "summaries' transfer volume = transfers": """
        select (select coalesce(sum(credit_transferred), 0) from chain.programme_month),
               (select coalesce(sum(amount), 0) from chain.transfer)""",
}
"""Each query answers two numbers that must be equal."""


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _chunks(total: int) -> Iterator[range]:
    for first in range(0, total, CHUNK):
        yield range(first, min(total, first + CHUNK))


def load(url: str, people: People, programmes: int, seed: int = 11) -> Load:
    """Writes the synthetic projections in one transaction with the summary triggers off
    (``session_replication_role = replica``), then recomputes the summaries and checks the load."""
    started = time.perf_counter()
    dsn = _libpq(url)
    with psycopg.connect(dsn) as conn:
        government, cursor, country = conn.execute("""
            select (select government_account from chain.registry_state limit 1),
                   (select max(block_number) from chain.indexer_cursor),
                   (select country from app.organisation where role = 'Government' limit 1)""").fetchone() or (
            None, None, None)  # fmt: skip
        synthesis = Synthesis(people, int(government or people.government.organisation_id), int(cursor or 1),
                              str(country or "NG"), programmes, seed)  # fmt: skip
        conn.execute("set session_replication_role = replica")
        with conn.cursor() as cur:
            for chunk in _chunks(programmes):
                for index in chunk:
                    synthesis.programme(index)
                _copy(cur, synthesis.take())
            synthesis.accounts()
            synthesis.own_requests(programmes)
            _copy(cur, synthesis.take())
        conn.execute("set session_replication_role = default")
        conn.commit()
    rebuilt = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("analyze")
        conn.execute("select chain.stats_rebuild()")
        for table in (*LOADED, "chain.programme_fact", "chain.programme_month"):
            conn.execute(f"vacuum (analyze) {table}")  # as autovacuum would have: visibility map, statistics
        rebuild_seconds = time.perf_counter() - rebuilt
        errors = []
        for name, query in CHECKS.items():
            row = conn.execute(query).fetchone()
            if row is None or row[0] != row[1]:
                errors.append(f"load check failed, {name}: {row}")
        blocks, count, moves = conn.execute("""select (select count(*) from chain.serial_block),
            (select count(*) from chain.programme),
            (select count(*) from chain.transfer) + (select count(*) from chain.retirement)""").fetchone() or (0, 0, 0)
    return Load(synthesis.counts, time.perf_counter() - started, rebuild_seconds, errors, blocks, count, moves)


def _copy(cur: psycopg.Cursor[Any], rows: dict[str, list[str]]) -> None:
    for table, lines in rows.items():
        if lines:
            with cur.copy(f"copy {table} ({COLUMNS[table]}) from stdin") as copy:
                copy.write("\n".join(lines) + "\n")


# ---------------------------------------------------------------------------------------------- measurement


@dataclass(frozen=True)
class Probe:
    name: str
    caller: Caller | None
    path: str
    params: dict[str, str] | None = None
    body: dict[str, Any] | None = None
    kind: str = "stat"
    """stat (one statistic), public or dashboard."""


@dataclass
class Measured:
    probe: Probe
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    def percentile_ms(self, percent: int) -> float:
        if not self.latencies:
            return 0.0
        if len(self.latencies) == 1:
            return self.latencies[0] * 1000
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[percent - 1] * 1000


WINDOWED = ("programmes_by_stage", "programmes_by_sector", "certification", "programme_locations",
            "retirements_by_country")  # fmt: skip
ALL_TYPES = (*WINDOWED[:3], "my_credits", "pending_requests", *WINDOWED[3:])


def dashboard(last_14_days: str) -> dict[str, Any]:
    """The Government dashboard of the reference's §11.3, in one request."""
    return {"stats": [
        {"type": "programmes_by_stage", "key": "stage_by_day", "created_from": last_14_days, "group_by": "day"},
        {"type": "programmes_by_stage"}, {"type": "programmes_by_sector"}, {"type": "certification"},
        {"type": "pending_requests"}, {"type": "my_credits"}, {"type": "programme_locations"},
        {"type": "retirements_by_country"},
    ]}  # fmt: skip


def probes(people: People, now: datetime) -> list[Probe]:
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    last_14_days = (today - timedelta(days=13)).isoformat()
    five_years = (now - timedelta(days=round(365.25 * YEARS))).isoformat()
    government = people.government
    found = [Probe(f"{t} overall", government, f"/stats/{t}") for t in ALL_TYPES]
    found += [Probe(f"{t} 14 days by day", government, f"/stats/{t}",
                    {"created_from": last_14_days, "group_by": "day"}) for t in WINDOWED]  # fmt: skip
    found += [Probe(f"{t} 5 years by month", government, f"/stats/{t}",
                    {"created_from": five_years, "group_by": "month"}) for t in WINDOWED]  # fmt: skip
    for caller in (people.developers[0], people.certifiers[0]):
        found += [Probe(f"{t} only mine", caller, f"/stats/{t}", {"only_mine": "true"}) for t in WINDOWED]
        found += [Probe(f"{t}", caller, f"/stats/{t}") for t in ("my_credits", "pending_requests")]
    found.append(Probe("public stats", None, "/public/stats", kind="public"))
    found.append(Probe("dashboard (8 statistics)", government, "/stats", body=dashboard(last_14_days),
                       kind="dashboard"))  # fmt: skip
    return found


def _ask(http: httpx.Client, probe: Probe) -> httpx.Response:
    headers = probe.caller.headers if probe.caller else {}
    if probe.body is not None:
        return http.post(probe.path, json=probe.body, headers=headers)
    return http.get(probe.path, params=probe.params, headers=headers)


def _problem(probe: Probe, response: httpx.Response) -> str | None:
    if response.status_code != 200:
        return f"{probe.name} ({_who(probe)}): {response.status_code} {response.text[:300]}"
    if probe.kind == "dashboard" and len(response.json().get("stats", {})) != len(probe.body["stats"] if probe.body
                                                                                   else []):  # fmt: skip
        return f"{probe.name}: answered {sorted(response.json().get('stats', {}))}"
    return None


def measure_http(api: str, people: People, requests: int) -> list[Measured]:
    """Each probe in turn on one keep-alive connection: ``WARMUP`` answers unmeasured, then ``requests`` timed."""
    results = []
    with httpx.Client(base_url=api, timeout=REQUEST_TIMEOUT) as http:
        for probe in probes(people, datetime.now(UTC)):
            measured = Measured(probe)
            for attempt in range(WARMUP + requests):
                sent = time.perf_counter()
                try:
                    response = _ask(http, probe)
                except httpx.HTTPError as exc:
                    measured.failures.append(f"{probe.name} ({_who(probe)}): {type(exc).__name__}: {exc}")
                    continue
                elapsed = time.perf_counter() - sent
                problem = _problem(probe, response)
                if problem is not None:
                    measured.failures.append(problem)
                if attempt < WARMUP:
                    continue
                measured.statuses[response.status_code] = measured.statuses.get(response.status_code, 0) + 1
                if problem is None:
                    measured.latencies.append(elapsed)
            results.append(measured)
    return results


def _who(probe: Probe) -> str:
    return probe.caller.who if probe.caller else "anyone"


# ---------------------------------------------------------------------------------------------- the run


@dataclass
class Result:
    load: Load
    measured: list[Measured]
    requests: int

    @property
    def failures(self) -> list[str]:
        return [*self.load.errors, *(f for m in self.measured for f in m.failures)]

    @property
    def ok(self) -> bool:
        return not self.failures and all(len(m.latencies) == self.requests for m in self.measured)

    def _dashboard(self) -> Measured:
        return next(m for m in self.measured if m.probe.kind == "dashboard")

    def _slowest(self) -> Measured:
        return max((m for m in self.measured if m.probe.kind != "dashboard"), key=lambda m: m.percentile_ms(95))

    def figures(self) -> dict[str, Any]:
        slowest = self._slowest()
        return {
            "programmes": self.load.programmes,
            "blocks": self.load.blocks,
            "transfers_and_retirements": self.load.transfers_and_retirements,
            "dashboard_p50_ms": round(self._dashboard().percentile_ms(50), 1),
            "dashboard_p95_ms": round(self._dashboard().percentile_ms(95), 1),
            "slowest_stat_p95_ms": round(slowest.percentile_ms(95), 1),
            "slowest_stat": f"{slowest.probe.name} ({_who(slowest.probe)})",
        }


def measure(programmes: int, requests: int, seed: int = 11) -> Result:
    if programmes < 1 or requests < 1:
        raise ValueError("need at least one programme and one request per probe")
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-analytics-")))
        database_url = _database(stack, tmp)  # DATABASE_URL's server, else an embedded one the stack stops
        node = BenchNode(tmp / "data", database_url)
        stack.callback(node.close)
        try:
            node.start()
            people = set_up(node)
            loaded = load(database_url, people, programmes, seed)
            measured = measure_http(node.api, people, requests)
        except Exception:
            print(f"--- node log (last 4000 characters)\n{node.log()[-4000:]}", file=sys.stderr)
            raise
    return Result(loaded, measured, requests)


def report(result: Result) -> None:
    console = Console(width=120)
    for failure in result.failures[:50]:
        console.print(f"[red]FAILED[/red] {failure}", markup=True, highlight=False)
    load, counts = result.load, result.load.counts
    console.print(f"Loaded {counts.programmes:,} programmes, {counts.blocks:,} serial blocks, {counts.transfers:,} "
                  f"transfers, {counts.retirements:,} retirements, {counts.events:,} events, {counts.pending:,} "
                  f"pending requests in {load.seconds:.1f} s (summaries rebuilt and analysed in "
                  f"{load.rebuild_seconds:.1f} s)", highlight=False)  # fmt: skip
    table = Table(title=f"Analytics over HTTP ({result.requests} requests each, after {WARMUP} unmeasured)")
    for column in ("request", "caller", "ok", "p50 ms", "p95 ms", "max ms"):
        table.add_column(column, justify="left" if column in ("request", "caller") else "right")
    for m in result.measured:
        table.add_row(m.probe.name, _who(m.probe), f"{len(m.latencies)}/{result.requests}",
                      f"{m.percentile_ms(50):.1f}", f"{m.percentile_ms(95):.1f}",
                      f"{max(m.latencies, default=0) * 1000:.1f}")  # fmt: skip
    console.print(table)
    figures = result.figures()
    targets = (("dashboard p95", figures["dashboard_p95_ms"], DASHBOARD_TARGET_MS),
               ("slowest statistic p95", figures["slowest_stat_p95_ms"], STAT_TARGET_MS))  # fmt: skip
    for label, value, target in targets:
        verdict = "meets" if value <= target else "MISSES"
        console.print(f"{label} {value:.1f} ms (target <= {target:.0f}): {verdict} the target", highlight=False)
    print(json.dumps(figures))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--programmes", type=int, default=100_000, help="synthetic programmes (default 100000)")
    parser.add_argument("--requests", type=int, default=None, help="measured requests per probe (default 200)")
    quick = f"{QUICK_PROGRAMMES} programmes, {QUICK_REQUESTS} requests per probe (smoke run)"
    parser.add_argument("--quick", action="store_true", help=quick)
    args = parser.parse_args(argv)
    programmes = QUICK_PROGRAMMES if args.quick else args.programmes
    requests = args.requests or (QUICK_REQUESTS if args.quick else 200)
    result = measure(programmes, requests)
    report(result)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())

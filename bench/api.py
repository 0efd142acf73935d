"""Transfers through the REST API against raw chain throughput, measured in the same run.

    python -m bench.api [--transfers 400] [--clients 4] [--rounds 5] [--quick] [--profile DIR [--wall]]

Run it from the repository root. It starts a real node with tests/runtime/node.py: ``registry up`` in a subprocess
on a temporary data directory (its own Anvil, the API with its indexer, and PostgreSQL: a fresh database on
``DATABASE_URL``'s server if set, else the node's embedded server).
Sets it up through the API: Root signs in and changes its first password, creates one sending and one receiving
organisation per client (and a pair for the raw phase), registers and authorises one programme per sender and
issues it the credits it will send. The senders' Admins get sessions signed with the node's ``JWT_SECRET``, as the
API tests do (a new user has no password until it follows its emailed link). Then it measures, with N one-credit
transfers each:

(a) raw: one thread sends signed ``transfer(programmeId, from, to, amount, requestRef)`` transactions with the node's
    key straight to the contract (web3, hand-built transactions: fixed gas, local nonces; toolchain.md §4 C) and
    waits for each receipt;
(b) api: C concurrent clients, each the Admin of its own sending organisation (so it sends at once and no two
    clients share an account), each posting ``POST /transfers`` with an ``Idempotency-Key`` and waiting for the
    answer, which comes once the transfer is mined and indexed. Only 201 counts: any other answer is printed and
    the exit status is 1.

The phases alternate in ``--rounds`` rounds (raw, API, raw, API...), N/rounds transfers each, and the figures are over
all rounds: the machine's speed drifts by a fifth within a minute, and alternating gives both phases the same drift.

Afterwards every pair's balances are read from the contract: each receiver must hold exactly what was sent to it.
During each phase it also counts the CPU time of the node's processes (Linux ``/proc``): the API process, its
background child (indexer, email outbox), Anvil and the database's server processes serving the node (the backends
of the node's database on ``DATABASE_URL``'s server, or the embedded server), printed per transfer. With
``--profile DIR`` it records the API phase with ``py-spy record --gil`` (py-spy must be installed) into ``DIR``: the
collapsed stacks of each Python process of the node (``api-<pid>.txt``, ``background-<pid>.txt``); with ``--wall``
every thread is sampled, waiting or not (``--idle --threads``), to see where a transfer's time goes.
Prints a table; the last line is JSON with ``transfers``, ``clients``, ``raw_tx_per_s``, ``api_transfers_per_s``,
``ratio`` (api / raw), ``api_p50_ms`` and ``api_p95_ms``. Target: ratio >= 0.5.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from filelock import FileLock
from rich.console import Console
from rich.table import Table
from sqlalchemy import make_url

from bench.indexer import _database
from bench.load import GAS
from node.chain.client import ChainClient, new_request_ref
from node.chain.compiler import load_artifacts
from node.chain.deployment import Deployment, manifest_path
from node.chain.registry import Registry
from node.config import ANVIL_DEV_KEY
from node.db.embedded import EmbeddedPostgres, postmaster_identity
from node.security.tokens import Claims, issue_token
from tests.runtime.node import Node

TARGET = 0.5
QUICK_TRANSFERS = 8
ROOT_EMAIL = "root@bench.example.org"
DEVELOPER = "ProgrammeDeveloper"
REQUEST_TIMEOUT = 60.0
ROUNDS = 5
RAW_PHASE = "raw chain (1 thread, web3)"
RAW_POLL = 0.001
"""The raw phase polls for each receipt every millisecond: the fastest web3 waits, so the baseline is never slowed by
its own pauses (the node's client starts at 1 ms too, then backs off)."""


class BenchNode(Node):
    """``registry up`` (tests/runtime/node.py) with a known Root password and JWT secret, on ``DATABASE_URL``'s
    server when one is given."""

    def __init__(self, data_dir: Path, database_url: str | None) -> None:
        super().__init__(data_dir)
        self.database_url = database_url
        self.root_password = secrets.token_urlsafe(18)
        self.jwt_secret = secrets.token_urlsafe(48)

    def env(self) -> dict[str, str]:
        env = super().env() | {"REGISTRY_ROOT_EMAIL": ROOT_EMAIL, "REGISTRY_ROOT_PASSWORD": self.root_password,
                               "JWT_SECRET": self.jwt_secret}  # fmt: skip
        if self.database_url is not None:
            env["DATABASE_URL"] = self.database_url
        return env


@dataclass(frozen=True)
class Pair:
    """A sending organisation (owner of its own programme, holding ``issued`` credits) and its receiver."""

    programme_id: int
    sender: int
    receiver: int
    issued: int
    headers: dict[str, str]
    """The sender's Admin session (empty for the raw pair, sent with the node's key)."""


@dataclass
class Phase:
    name: str
    transfers: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    """Seconds per successful transfer."""
    failures: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    """HTTP status -> answers (API phase)."""

    @property
    def succeeded(self) -> int:
        return len(self.latencies)

    @property
    def per_second(self) -> float:
        return self.succeeded / self.seconds if self.seconds > 0 else 0.0

    def add(self, part: Phase) -> None:
        """Counts one round of this phase in: its time, answers and failures."""
        self.seconds += part.seconds
        self.latencies += part.latencies
        self.failures += part.failures
        for status, answers in part.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + answers

    def percentile_ms(self, percent: int) -> float:
        if not self.latencies:
            return 0.0
        if len(self.latencies) == 1:
            return self.latencies[0] * 1000
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[percent - 1] * 1000


@dataclass
class Result:
    transfers: int
    clients: int
    raw: Phase
    api: Phase
    raw_moved: int
    """Credits the raw pair's receiver holds on chain after the run."""
    api_moved: int
    """Credits the API pairs' receivers hold on chain after the run (all clients)."""
    balance_errors: list[str]
    cpu: dict[str, float] = field(default_factory=dict)
    """CPU seconds of each of the node's process groups during the API phase (empty where ``/proc`` is missing)."""
    raw_cpu: dict[str, float] = field(default_factory=dict)
    """The same during the raw phase."""

    @property
    def ratio(self) -> float:
        return self.api.per_second / self.raw.per_second if self.raw.per_second > 0 else 0.0

    @property
    def ok(self) -> bool:
        return not (self.raw.failures or self.api.failures or self.balance_errors)

    def figures(self) -> dict[str, float]:
        return {
            "transfers": self.transfers,
            "clients": self.clients,
            "raw_tx_per_s": round(self.raw.per_second, 1),
            "api_transfers_per_s": round(self.api.per_second, 1),
            "ratio": round(self.ratio, 3),
            "api_p50_ms": round(self.api.percentile_ms(50), 1),
            "api_p95_ms": round(self.api.percentile_ms(95), 1),
        }


# ---------------------------------------------------------------------------------------------- set-up via the API


def _expect(response: httpx.Response, *statuses: int) -> Any:
    if response.status_code not in statuses:
        raise RuntimeError(f"{response.request.method} {response.request.url.path} answered "
                           f"{response.status_code}: {response.text[:500]}")  # fmt: skip
    return response.json()


def _root_session(http: httpx.Client, password: str) -> dict[str, str]:
    """Root signs in with its first password and changes it, as an operator does after ``make up``."""
    first = _expect(http.post("/auth/login", json={"email": ROOT_EMAIL, "password": password}), 200)
    change = {"old_password": password, "new_password": secrets.token_urlsafe(18)}
    headers = {"Authorization": f"Bearer {first['access_token']}"}
    renewed = _expect(http.post("/auth/password", headers=headers, json=change), 200)
    return {"Authorization": f"Bearer {renewed['access_token']}"}


def _organisation(http: httpx.Client, root: dict[str, str], name: str, role: str = DEVELOPER) -> tuple[int, str, int]:
    """A new organisation (a developer unless ``role`` says otherwise) with its Admin: (organisation id, tax id,
    Admin's user id)."""
    tag = uuid.uuid4().hex[:10]
    tax_id = f"TAX-{tag}"
    body = {"name": f"{name} {tag}", "role": role, "tax_id": tax_id, "email": f"org-{tag}@bench.example.org",
            "phone": "+234 800 000 0000", "address": "1 Bench Street, Abuja",
            "admin": {"email": f"admin-{tag}@bench.example.org", "name": f"Admin {tag}"}}  # fmt: skip
    created = _expect(http.post("/organisations", headers=root, json=body), 201)
    return int(created["organisation"]["organisation_id"]), tax_id, int(created["admin_user_id"])


def _programme(http: httpx.Client, root: dict[str, str], tax_id: str, credits: int) -> int:
    """A programme owned by ``tax_id``'s organisation, authorised with ``credits`` issued to it."""
    body = {
        "title": "Bench solar programme", "external_id": f"BENCH-{uuid.uuid4().hex[:12]}", "sector": "Energy",
        "sectoral_scope": 1, "type_of_mitigation": "Solar", "start_time": "2024-03-01T00:00:00Z",
        "end_time": "2030-12-31T00:00:00Z", "proponents": [{"tax_id": tax_id, "percentage": 100}],
        "credit_estimate": credits,
        "properties": {"geographical_location": ["Lagos"], "greenhouse_gases": ["CO2"],
                       "estimated_programme_cost_usd": "250000.00"},
    }  # fmt: skip
    created = _expect(http.post("/programmes", headers=root | _key(), json=body), 201)
    programme_id = int(created["programme_id"])
    _expect(http.post(f"/programmes/{programme_id}/authorise", headers=root | _key(),
                      json={"issue_amount": credits}), 200)  # fmt: skip
    return programme_id


def _key() -> dict[str, str]:
    return {"Idempotency-Key": f"bench-{uuid.uuid4().hex}"}


def _session(node: BenchNode, http: httpx.Client, user_id: int, organisation_id: int,
             organisation_role: str = DEVELOPER) -> dict[str, str]:  # fmt: skip
    """A session of an organisation's new Admin (a developer's unless ``organisation_role`` says otherwise), checked
    by the API itself (``/auth/me``)."""
    claims = Claims(user_id, "Admin", organisation_id, organisation_role, "active", must_change_password=False)
    headers = {"Authorization": f"Bearer {issue_token(claims, node.jwt_secret, 3600)}"}
    me = _expect(http.get("/auth/me", headers=headers), 200)
    if (me["user_id"], me["organisation_id"]) != (user_id, organisation_id):
        raise RuntimeError(f"/auth/me answered {me} for user {user_id}")
    return headers


def _pairs(node: BenchNode, counts: Sequence[int]) -> list[Pair]:
    """One pair per count (each sender issued one credit more, so that every transfer splits its block)."""
    with httpx.Client(base_url=node.api, timeout=REQUEST_TIMEOUT) as http:
        root = _root_session(http, node.root_password)
        pairs = []
        for index, count in enumerate(counts):
            sender, tax_id, admin = _organisation(http, root, f"Sender {index}")
            receiver, _, _ = _organisation(http, root, f"Receiver {index}")
            programme_id = _programme(http, root, tax_id, count + 1)
            pairs.append(Pair(programme_id, sender, receiver, count + 1, _session(node, http, admin, sender)))
        return pairs


# ---------------------------------------------------------------------------------------------- the two phases


def raw_phase(client: ChainClient, registry: Registry, pair: Pair, count: int, lock_dir: Path) -> Phase:
    """One thread: build, sign and send each transfer, then wait for its receipt, as fast as web3 goes."""
    phase = Phase(RAW_PHASE, count)
    w3, account, contract = client.w3, client.account, registry.contract
    fee = w3.eth.gas_price * 3 + 10**9
    # The node's own nonce lock (ChainClient's file lock in ``lock_dir``): nothing else sends with this key meanwhile.
    with FileLock(lock_dir / f"nonce-{account.address.lower()}.lock"):
        nonce = w3.eth.get_transaction_count(account.address, "pending")
        started = time.perf_counter()
        for offset in range(count):
            sent = time.perf_counter()
            data = contract.encode_abi("transfer", args=[pair.programme_id, pair.sender, pair.receiver, 1,
                                                         new_request_ref()])  # fmt: skip
            tx = {"to": contract.address, "data": data, "gas": GAS, "nonce": nonce + offset, "chainId": client.chain_id,
                  "maxFeePerGas": fee, "maxPriorityFeePerGas": 10**9, "type": 2}  # fmt: skip
            tx_hash = w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
            receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=client.receipt_timeout,
                                                          poll_latency=RAW_POLL)  # fmt: skip
            if receipt["status"] == 1:
                phase.latencies.append(time.perf_counter() - sent)
            else:
                phase.failures.append(f"raw transfer {offset} reverted: {tx_hash.to_0x_hex()}")
        phase.seconds = time.perf_counter() - started
    return phase


def api_phase(api_url: str, pairs: Sequence[Pair], counts: Sequence[int]) -> Phase:
    """``len(pairs)`` clients at once, each sending its count of one-credit transfers one after the other."""
    phase = Phase(f"REST API ({len(pairs)} clients)", sum(counts))
    start = threading.Barrier(len(pairs) + 1)
    lock = threading.Lock()

    def run(pair: Pair, count: int) -> None:
        body = {"programme_id": pair.programme_id, "from_organisation_id": pair.sender,
                "to_organisation_id": pair.receiver, "amount": 1}  # fmt: skip
        with httpx.Client(base_url=api_url, timeout=REQUEST_TIMEOUT, headers=pair.headers) as http:
            http.get("/health")  # the keep-alive connection is open before the clock starts
            start.wait()
            for _ in range(count):
                sent = time.perf_counter()
                try:
                    response = http.post("/transfers", json=body, headers=_key())
                except httpx.HTTPError as exc:
                    with lock:
                        phase.failures.append(f"sender {pair.sender}: {type(exc).__name__}: {exc}")
                    continue
                elapsed = time.perf_counter() - sent
                with lock:
                    phase.statuses[response.status_code] = phase.statuses.get(response.status_code, 0) + 1
                    if response.status_code == 201 and response.json().get("state") == "executed":
                        phase.latencies.append(elapsed)
                    else:
                        phase.failures.append(f"sender {pair.sender}: {response.status_code} {response.text[:300]}")

    threads = [threading.Thread(target=run, args=(pair, count), name=f"client-{i}", daemon=True)
               for i, (pair, count) in enumerate(zip(pairs, counts, strict=True))]  # fmt: skip
    for thread in threads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    phase.seconds = time.perf_counter() - started
    return phase


def _accumulate(total: dict[str, float], part: dict[str, float]) -> None:
    for name, seconds in part.items():
        total[name] = total.get(name, 0.0) + seconds


def _moved(registry: Registry, pair: Pair, sent: int, errors: list[str]) -> int:
    """What ``pair``'s receiver holds; records an error unless exactly ``sent`` credits moved."""
    held = int(registry.view("balanceOf", pair.programme_id, pair.receiver))
    left = int(registry.view("balanceOf", pair.programme_id, pair.sender))
    if (held, left) != (sent, pair.issued - sent):
        errors.append(f"programme {pair.programme_id}: receiver {pair.receiver} holds {held} (expected {sent}), "
                      f"sender {pair.sender} {left} (expected {pair.issued - sent})")  # fmt: skip
    return held


def split(transfers: int, clients: int) -> list[int]:
    return [transfers // clients + (1 if i < transfers % clients else 0) for i in range(clients)]


# ---------------------------------------------------------------------------------------------- the node's CPU

PROCESS_GROUPS = ("api", "background", "anvil", "postgres")
CLIENT = "bench client"
"""This process: the raw phase's signing thread or the API phase's HTTP clients, which share the machine's cores."""


def _stat(pid: int) -> list[str] | None:
    """``/proc/<pid>/stat`` after the command name (which may hold spaces): field 3 (state) first."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rpartition(")")[2].split()


def _cpu_seconds(pid: int) -> float:
    fields = _stat(pid)
    return 0.0 if fields is None else (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _descendants(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def node_processes(node_pid: int, database_url: str | None, data_dir: Path) -> dict[str, list[int]]:
    """The node's processes by group: ``registry up`` itself (the API), its background child, Anvil, and the
    PostgreSQL processes serving it (the embedded server's, or the backends of its database on a shared server).

    The embedded server is not the node's descendant (its library starts it detached, as another user when run as
    root): it is found by its ``postmaster.pid``, with its children."""
    groups: dict[str, list[int]] = {name: [] for name in PROCESS_GROUPS}
    groups["api"].append(node_pid)
    for pid in _descendants(node_pid):
        command = _command(pid)
        if "spawn_main" in command:
            groups["background"].append(pid)
        elif "anvil" in command.split(" ", 1)[0]:
            groups["anvil"].append(pid)
        elif "postgres" in command:
            groups["postgres"].append(pid)
    if database_url is not None:
        libpq = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(libpq, autocommit=True) as conn:
            rows = conn.execute("select pid from pg_stat_activity where datname = current_database() "
                                "and pid <> pg_backend_pid()").fetchall()  # fmt: skip
        groups["postgres"] += [int(row[0]) for row in rows]
    else:
        postmaster = postmaster_identity(EmbeddedPostgres(data_dir / "postgres").pgdata)
        if postmaster is not None:
            groups["postgres"] += [postmaster.pid, *_descendants(postmaster.pid)]
    return groups


class CpuMeter:
    """CPU seconds of the node's process groups between ``start`` and ``stop`` (processes seen at either end)."""

    def __init__(self, node_pid: int, database_url: str | None, data_dir: Path) -> None:
        self.node_pid, self.database_url, self.data_dir = node_pid, database_url, data_dir
        self.before: dict[int, float] = {}
        self.groups: dict[str, list[int]] = {}
        self.client_before = 0.0

    def start(self) -> None:
        self.groups = node_processes(self.node_pid, self.database_url, self.data_dir)
        self.before = {pid: _cpu_seconds(pid) for pids in self.groups.values() for pid in pids}
        self.client_before = time.process_time()

    def stop(self) -> dict[str, float]:
        later = node_processes(self.node_pid, self.database_url, self.data_dir)
        used: dict[str, float] = {}
        for name in PROCESS_GROUPS:
            pids = set(self.groups.get(name, [])) | set(later[name])
            used[name] = sum(_cpu_seconds(pid) - self.before.get(pid, 0.0) for pid in pids)
        used[CLIENT] = time.process_time() - self.client_before
        return used


class Profiler:
    """``py-spy record`` (raw collapsed stacks of the thread holding the GIL) on the node's Python processes."""

    def __init__(self, directory: Path, groups: dict[str, list[int]], wall: bool = False) -> None:
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        if not Path(spy).exists():
            raise RuntimeError("--profile needs py-spy (pip install py-spy)")
        directory.mkdir(parents=True, exist_ok=True)
        options = ["--format", "raw", "--rate", "200", "--nonblocking",
                   *(["--idle", "--threads"] if wall else ["--gil"])]  # fmt: skip
        self.recorders = [
            subprocess.Popen(
                [spy, "record", "--pid", str(pid), *options, "--output", str(directory / f"{name}-{pid}.txt")],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for name in ("api", "background")
            for pid in groups[name]
        ]
        time.sleep(1.0)  # attached before the clock starts

    def stop(self) -> None:
        for recorder in self.recorders:
            recorder.send_signal(signal.SIGINT)
        for recorder in self.recorders:
            recorder.wait(timeout=60)


def measure(transfers: int, clients: int = 4, profile: Path | None = None, wall: bool = False,
            rounds: int = ROUNDS) -> Result:  # fmt: skip
    """Both phases, ``rounds`` times each, alternating (raw, API, raw, API...); figures over all rounds.

    Why rounds: this machine's speed drifts by a fifth within a minute (other tenants), and one raw phase lasts about
    three seconds; alternating exposes both phases to the same drift, so the ratio measures the node, not the moment.
    With ``profile`` one round of each: the recorder attaches around a single API phase.
    """
    rounds = 1 if profile is not None else rounds
    if clients < 1 or rounds < 1 or transfers < clients * rounds:
        raise ValueError("need at least one client, one round, and a transfer per client per round")
    counts = split(transfers, clients)
    raw_rounds = split(transfers, rounds)
    api_rounds = [split(count, rounds) for count in counts]
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-api-")))
        database_url = _database(stack, tmp) if os.environ.get("DATABASE_URL") else None
        node = BenchNode(tmp / "data", database_url)
        stack.callback(node.close)
        try:
            node.start()
            *api_pairs, raw_pair = _pairs(node, [*counts, transfers])
            lock_dir = node.data_dir / "locks"
            client = ChainClient(node.rpc, ANVIL_DEV_KEY, lock_dir=lock_dir)
            deployment = Deployment.load(manifest_path(node.data_dir, client.chain_id))
            registry = Registry(client, deployment.registry, load_artifacts()["CarbonRegistry"].abi)
            assert node.process is not None
            meter = CpuMeter(node.process.pid, database_url, node.data_dir)
            raw, api = Phase(RAW_PHASE, transfers), Phase(f"REST API ({clients} clients)", transfers)
            raw_cpu: dict[str, float] = {}
            cpu: dict[str, float] = {}
            for round_ in range(rounds):
                meter.start()
                raw.add(raw_phase(client, registry, raw_pair, raw_rounds[round_], lock_dir))
                _accumulate(raw_cpu, meter.stop())
                meter.start()
                profiler = Profiler(profile, meter.groups, wall) if profile is not None else None
                try:
                    api.add(api_phase(node.api, api_pairs, [count[round_] for count in api_rounds]))
                finally:
                    if profiler is not None:
                        profiler.stop()
                _accumulate(cpu, meter.stop())
        except Exception:
            print(f"--- node log (last 4000 characters)\n{node.log()[-4000:]}", file=sys.stderr)
            raise
        errors: list[str] = []
        raw_moved = _moved(registry, raw_pair, raw.succeeded, errors)
        if raw.succeeded != transfers:
            errors.append(f"raw: {raw.succeeded} of {transfers} transfers succeeded")
        api_moved = 0
        for pair, count in zip(api_pairs, counts, strict=True):
            api_moved += _moved(registry, pair, count, errors)
        if api_moved != api.succeeded:
            errors.append(f"api: {api.succeeded} transfers answered 201 but {api_moved} credits moved")
    return Result(transfers, clients, raw, api, raw_moved, api_moved, errors, cpu, raw_cpu)


def report(result: Result) -> None:
    console = Console(width=100)
    for failure in (*result.raw.failures, *result.api.failures, *result.balance_errors):
        console.print(f"[red]FAILED[/red] {failure}", markup=True, highlight=False)
    table = Table(title=f"Transfers: raw chain vs REST API ({result.transfers} each)")
    for column in ("phase", "transfers", "seconds", "per second", "p50 ms", "p95 ms"):
        table.add_column(column, justify="left" if column == "phase" else "right")
    for phase in (result.raw, result.api):
        table.add_row(phase.name, f"{phase.succeeded}/{phase.transfers}", f"{phase.seconds:.2f}",
                      f"{phase.per_second:.1f}", f"{phase.percentile_ms(50):.1f}",
                      f"{phase.percentile_ms(95):.1f}")  # fmt: skip
    console.print(table)
    for phase, cpu in ((result.raw, result.raw_cpu), (result.api, result.cpu)):
        if cpu and phase.succeeded:
            shares = ", ".join(f"{name} {seconds * 1000 / phase.succeeded:.1f}" for name, seconds in cpu.items())
            console.print(f"CPU ms per transfer, {phase.name}: {shares}", highlight=False)
    verdict = "meets" if result.ratio >= TARGET else "MISSES"
    console.print(f"ratio {result.ratio:.3f} (target >= {TARGET}): {verdict} the target", highlight=False)
    print(json.dumps(result.figures()))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--transfers", type=int, default=400, help="transfers per phase (default 400)")
    parser.add_argument("--rounds", type=int, default=ROUNDS,
                        help=f"alternate the phases this many times each (default {ROUNDS})")  # fmt: skip
    parser.add_argument("--clients", type=int, default=4, help="concurrent API clients (default 4)")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_TRANSFERS} transfers per phase (smoke run)")
    parser.add_argument("--profile", type=Path, default=None,
                        help="record the API phase with py-spy into this directory (collapsed stacks)")  # fmt: skip
    parser.add_argument(
        "--wall",
        action="store_true",
        help="with --profile: sample every thread, waiting ones too, not the GIL holder only",
    )
    args = parser.parse_args(argv)
    transfers = QUICK_TRANSFERS if args.quick else args.transfers
    rounds = 1 if args.quick else args.rounds
    result = measure(transfers, args.clients, args.profile, args.wall, rounds)
    report(result)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())

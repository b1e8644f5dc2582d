"""Fixtures: real SQLite and PostgreSQL databases, real Redis, real Dramatiq workers, the Slack stand-in.

A test that needs PostgreSQL or Redis fails loudly when the service is missing; nothing skips.
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis as redis_lib
from sqlalchemy import create_engine, text

from bootstrap.observability import ops_routes
from bootstrap.runtime import Running, start
from bot.http import make_server, serve_in_thread, wsgi_app
from devslack.driver import SlackDriver, wait_for
from devslack.server import SlackStandIn
from gdpr.core import models as m
from gdpr.core.db import Database, make_engine
from gdpr.core.migrate import upgrade_database
from gdpr.core.settings import Settings
from gym.seed import seed
from tests.smtp import SmtpServer
from workers.broker import start_local_worker

# Byte-code caches on, whatever the machine says: with PYTHONDONTWRITEBYTECODE set (this machine's image sets
# it) no .pyc is ever written, so each of the hundreds of processes the suite starts (bots, workers, schedulers,
# the CLI) compiled ~650 modules from source again (0.6 s of CPU a start, measured), and pytest rewrote the
# assertions of every plugin module in each of its workers. Read before the workers and children inherit it.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
# One Redis database per pytest-xdist worker (gw0 -> 5, gw1 -> 6, ...): each flushes its own between tests.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
REDIS_URL = os.environ.get("TEST_REDIS_URL", f"redis://127.0.0.1:6379/{5 + _WORKER}")
SEED_MEMBERS, SEED = 150, 11
SECRET = "9f3c1a7be2d84056a1c9e7f0b3d6a2e58c4f1b7d9e0a3c6f2b5d8e1a4c7f0b3d"  # 64 hex: passes the strength check
# the stand-in's credentials in tests: not its built-in ones, which only the embedded demo may use
SIGNING_SECRET = "c8e1f4a7b2d5e0c3f6a9b1d4e7f0a2c5"
BOT_TOKEN = "xoxb-ci-5d2e8f1a4c7b0e3d6f9a2c5b8e1d4f7a"


def credentials() -> dict[str, str]:
    """What every process of a test needs to start (the variables of a production deployment)."""
    return {"SECRET_KEY": SECRET, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_BOT_TOKEN": BOT_TOKEN}


def _pg_url(name: str) -> str:
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def _pg_admin(sql: str) -> None:
    engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


_TO_DROP: list[str] = []


def drop_later(name: str) -> None:
    """A test's database is dropped when this pytest process ends, not when the test does: every DROP DATABASE
    forces a checkpoint of the whole server, which in the middle of the run stalls every other worker's tests."""
    _TO_DROP.append(name)


_DROP = """
import os
import sys
from sqlalchemy import create_engine, text
engine = create_engine(os.environ["TEST_POSTGRES_URL"], isolation_level="AUTOCOMMIT")
with engine.connect() as conn:
    for name in sys.argv[1:]:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
"""


@pytest.fixture(scope="session", autouse=True)
def _drop_databases_at_the_end() -> None:
    """Dropped by a process of their own that outlives this one: one by one, each with its checkpoint, they
    took the last worker 10-15 s after its last test (measured: a quarter of the fast layer's minute)."""
    yield
    if _TO_DROP:  # the server's URL in its environment, not on a command line that `ps` shows
        subprocess.Popen([sys.executable, "-c", _DROP, *_TO_DROP], env={**os.environ, "TEST_POSTGRES_URL": PG_ADMIN},
                         start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# -- databases ------------------------------------------------------------------------------------
def _seed_and_migrate(url: str) -> None:
    """A template: the synthetic gym, and the bot's own tables at head (each copy starts where a bot that
    has run once leaves it; tests of a fresh or an empty database make their own)."""
    engine = make_engine(url, immediate=False)
    seed(engine, members=SEED_MEMBERS, seed_value=SEED)
    engine.dispose()
    db = Database(url)
    upgrade_database(db)
    db.dispose()


def _own_deployment(url: str) -> None:
    """A copy of a template is a deployment of its own: the key the migration drew is drawn again."""
    engine = make_engine(url, immediate=False)
    with engine.begin() as conn:
        conn.execute(text("UPDATE deployment SET key = :key"), {"key": secrets.token_hex(16)})
    engine.dispose()


@pytest.fixture(scope="session")
def pg_template() -> str:
    name = f"gdpr_tmpl_{secrets.token_hex(4)}"
    _pg_admin(f"CREATE DATABASE {name}")
    _seed_and_migrate(_pg_url(name))
    yield name
    _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def pg_url(pg_template: str) -> str:
    name = f"gdpr_t_{secrets.token_hex(4)}"
    _pg_admin(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    _own_deployment(_pg_url(name))
    yield _pg_url(name)
    drop_later(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tmpl") / "gym.sqlite3"
    _seed_and_migrate(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    dest = tmp_path / "state.sqlite3"
    shutil.copy(sqlite_template, dest)
    _own_deployment(f"sqlite:///{dest}")
    return f"sqlite:///{dest}"


@pytest.fixture
def platform_backup(tmp_path: Path):
    """`platform_backup(url)`: a copy of the platform's database as it is now (SQLite's online backup, which
    a copy of the file would not be: it misses the WAL; PostgreSQL: pg_dump into a new database), returned
    as a URL; dropped after the test."""
    made: list[str] = []

    def backup(url: str) -> str:
        if url.startswith("sqlite"):
            dest = tmp_path / f"backup-{len(made)}.sqlite3"
            with sqlite3.connect(url.removeprefix("sqlite:///")) as source, sqlite3.connect(dest) as target:
                source.backup(target)
            return f"sqlite:///{dest}"
        name = url.rsplit("/", 1)[1] + "_bk"
        _pg_admin(f"CREATE DATABASE {name}")
        made.append(name)
        plain = url.replace("+psycopg", "")
        subprocess.run(f"pg_dump --no-owner '{plain}' | psql -q '{_pg_url(name).replace('+psycopg', '')}'",
                       shell=True, check=True, capture_output=True)
        return _pg_url(name)
    yield backup
    for name in made:
        drop_later(name)


@pytest.fixture
def pg_empty_url() -> str:
    """A second, empty PostgreSQL database: the bot's state kept apart from the system of record."""
    name = f"gdpr_s_{secrets.token_hex(4)}"
    _pg_admin(f"CREATE DATABASE {name}")
    yield _pg_url(name)
    drop_later(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each engine, for the bot's own state alone (no gym to copy)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state-only.sqlite3'}"
    return request.getfixturevalue("pg_empty_url")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """A seeded database on each engine."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def redis_url() -> str:
    client = redis_lib.Redis.from_url(REDIS_URL)
    client.ping()  # fails loudly when Redis is down
    client.flushdb()
    yield REDIS_URL
    client.flushdb()


@pytest.fixture
def standin(tmp_path: Path) -> SlackStandIn:
    s = SlackStandIn(BOT_TOKEN, tmp_path / "slack-files")
    s.start()
    yield s
    s.stop()


# -- a running system -----------------------------------------------------------------------------
@dataclass
class System:
    backend: str
    settings: Settings
    running: Running
    standin: SlackStandIn
    slack: SlackDriver
    tmp: Path
    workers: list[subprocess.Popen] = field(default_factory=list)

    @property
    def services(self):
        return self.running.services

    def where(self, ref: str, role: str) -> tuple[str, str]:
        """(channel, ts) of a message the bot posted about `ref` ("R-1", "P-2", "B-3"), by its role."""
        found = self.services.shown.where(ref, role)
        assert found is not None, f"no {role} message for {ref}"
        return found

    def env(self, **extra: str) -> dict[str, str]:
        s = self.settings
        env = {**os.environ, "DATABASE_URL": s.database_url, **credentials(), "SLACK_API_URL": s.slack_api_url, "EXPORT_DIR": str(s.export_dir), "CONFIG_DIR": str(s.config_dir),
               "LEASE_SECONDS": str(s.lease_seconds), "PYTHONUNBUFFERED": "1",
               "NOTICE_MAX_ATTEMPTS": str(s.notice_max_attempts), "NOTICE_BACKOFF_SECONDS": str(s.notice_backoff_seconds)}
        if s.system_database_url:
            env["SYSTEM_DATABASE_URL"] = s.system_database_url
        if s.redis_url:
            env["REDIS_URL"] = s.redis_url
        if s.smtp_url:
            env["SMTP_URL"] = s.smtp_url
        env["OUTBOX_DIR"] = str(s.outbox_dir)
        env["BREACH_NOTICE_BACKOFF_SECONDS"] = str(s.breach_notice_backoff_seconds)
        env.update(extra)
        return env

    def spawn(self, *args: str, log_name: str, **extra: str) -> subprocess.Popen:
        log = open(self.tmp / f"{log_name}.log", "ab")  # noqa: SIM115 - the child process writes to it until it ends
        proc = subprocess.Popen([sys.executable, *args], env=self.env(**extra), cwd=self.tmp, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.workers.append(proc)
        return proc

    def start_worker(self, **extra: str) -> subprocess.Popen:
        """A real `dramatiq workers.main` process (what `gdpr-bot worker` execs)."""
        return self.spawn("-m", "dramatiq", "workers.main", "--processes", "1", "--threads", "2",
                          log_name="worker", **extra)

    def wait_status(self, request_id: int, statuses: tuple[str, ...] = m.TERMINAL, timeout: float = 90) -> m.SubjectRequest:
        return wait_for(lambda: (r := self.services.requests.get(request_id)).status in statuses and r,
                        timeout=timeout, what=f"R-{request_id} to reach {statuses}")

    def card(self, request_id: int | None = None, kind: str | None = None) -> dict:
        """The approval card in the DPO channel (the latest one, or the one for request_id / of a kind)."""
        channel = self.services.policy.channel("approvals")

        def find() -> dict | None:
            cards = [c for c in self.standin.channel(channel) if c.get("blocks") and not c.get("thread_ts")]
            if kind is not None:
                cards = [c for c in cards if c["blocks"][0]["text"]["text"].startswith(kind.capitalize())]
            if request_id is not None:
                cards = [c for c in cards if f"R-{request_id}" in c["blocks"][0]["text"]["text"]]
            return cards[-1] if cards else None
        return wait_for(find, timeout=20, what="approval card")

    stop_http: object = None
    ops_url: str = ""  # the operations listener (/readyz, /metrics), apart from Slack's port

    def stop(self) -> None:
        if self.stop_http:
            self.stop_http()
        for proc in self.workers:  # the test is over: nothing of theirs is needed (graceful stops are tested)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        for proc in self.workers:
            proc.wait()
        self.running.stop()


def make_system(backend: str, db: str, standin: SlackStandIn, tmp: Path, redis: str | None, *,
                http: bool = True, **overrides: object) -> System:
    values = dict(database_url=db, redis_url=redis, slack_api_url=standin.api_url, secret_key=SECRET,
                  export_dir=tmp / "exports", outbox_dir=tmp / "outbox", config_dir=ROOT / "config", slack_bot_token=BOT_TOKEN,
                  slack_signing_secret=SIGNING_SECRET)
    settings = Settings(**{**values, **overrides})
    running = start(settings, housekeeping=False)
    driver = SlackDriver(SIGNING_SECRET, app=running.app)
    system = System(backend=backend, settings=settings, running=running, standin=standin, slack=driver, tmp=tmp)
    if http:  # through the production WSGI stack, as Slack would reach it
        server = make_server(wsgi_app(running.app, observe_ack=running.services.metrics.ack_seconds.observe),
                             "127.0.0.1", 0, threads=8)
        ops = make_server(wsgi_app(None, routes=ops_routes(running.services)), "127.0.0.1", 0, threads=2)
        stops = [serve_in_thread(server), serve_in_thread(ops)]
        system.stop_http = lambda: [stop() for stop in stops]
        driver.url = f"http://127.0.0.1:{server.effective_port}/slack/events"
        system.ops_url = f"http://127.0.0.1:{ops.effective_port}"
    return system


@pytest.fixture
def smtp():
    """A real SMTP server on loopback, recording what it receives (breach notices, club mail)."""
    server = SmtpServer().start()
    yield server
    server.stop()


def mailing_system(request: pytest.FixtureRequest, standin: SlackStandIn, tmp_path: Path, smtp: SmtpServer,
                   config_dir: Path):
    """`yield from` it in a fixture parametrised by backend: the product mailing through `smtp`, with the config
    folder given, notices retried quickly; a worker on Redis; stopped after the test."""
    redis = request.getfixturevalue("redis_url") if request.param != "embedded" else None
    db = request.getfixturevalue("sqlite_url" if request.param == "embedded" else "pg_url")
    system = make_system(request.param, db, standin, tmp_path, redis, smtp_url=smtp.url, config_dir=config_dir,
                         breach_notice_backoff_seconds=0.5)
    if redis:
        system.start_worker()
    yield system
    system.stop()


@pytest.fixture
def system_config() -> Path:
    """The config/ folder the system runs with (a test module may override this fixture)."""
    return ROOT / "config"


@pytest.fixture(params=["embedded", "postgres+redis"])
def system(request: pytest.FixtureRequest, standin: SlackStandIn, tmp_path: Path, system_config: Path) -> System:
    """The whole product on one backend: the embedded default, or PostgreSQL + Redis with a Dramatiq worker on
    that Redis (threads of this process: the fault tests start `dramatiq workers.main` processes of their own,
    and kill them)."""
    if request.param == "embedded":
        sys_ = make_system("embedded", request.getfixturevalue("sqlite_url"), standin, tmp_path, None,
                           config_dir=system_config)
    else:
        sys_ = make_system("postgres+redis", request.getfixturevalue("pg_url"), standin, tmp_path,
                           request.getfixturevalue("redis_url"), config_dir=system_config)
        sys_.running.worker = start_local_worker(sys_.services.broker, threads=2)  # stopped with the bot
    yield sys_
    sys_.stop()


@pytest.fixture
def gym(system: System):
    """Direct SQL on the system database, for arranging cases and checking outcomes."""
    engine = make_engine(system.settings.system_url, immediate=False)
    yield engine
    engine.dispose()


# -- an S3-compatible object store (moto's server, in this process) -----------------------------------
S3_BUCKET = "gdpr-exports"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ops_ports() -> dict[str, str]:
    """The operations listeners of a `serve` or `api` process a test starts, on ports of their own: on the
    defaults (9300, 9301) two tests running at the same moment would take each other's."""
    return {"OPS_PORT": str(free_port()), "API_OPS_PORT": str(free_port())}


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> str:
    from moto.server import ThreadedMotoServer
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "eu-west-1"}.items():
        monkeypatch.setenv(key, value)  # the workers inherit them
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    import boto3
    client = boto3.client("s3", endpoint_url=url)
    client.create_bucket(Bucket=S3_BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    yield url
    for page in client.get_paginator("list_object_versions").paginate(Bucket=S3_BUCKET):  # moto keeps its state
        for obj in page.get("Versions", []) + page.get("DeleteMarkers", []):                # per process: the next
            client.delete_object(Bucket=S3_BUCKET, Key=obj["Key"], VersionId=obj["VersionId"])  # test starts empty
    client.delete_bucket(Bucket=S3_BUCKET)
    server.stop()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """tests/unit/ is the fast layer (`-m fast`); the slow proofs run first, so that under pytest-xdist none
    of them starts last and holds up the whole run alone."""
    for item in items:
        if item.nodeid.startswith("tests/unit/"):
            item.add_marker(pytest.mark.fast)
        if item.get_closest_marker("slow") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(900))  # at scale, beside three other workers on two cores
    items.sort(key=lambda item: 0 if item.get_closest_marker("slow") else 1)

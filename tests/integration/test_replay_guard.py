"""A replayed Slack request is never acted on twice (issue 22, finding 11): not across a Redis outage, not
on a second bot replica, not after Redis restarted empty. The guard lives in the state DB; when that
cannot be reached the request is refused with a clear answer, never let through."""
from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest
import redis as redis_lib
from sqlalchemy import func, select, text

from devslack.driver import command_body, sign, wait_for
from gdpr.core import models as m
from gdpr.core.db import Database
from gdpr.core.replays import SeenRequests, Unchecked
from gdpr.requests.service import utcnow
from tests.conftest import SIGNING_SECRET, free_port, make_system
from tests.helpers import SUPPORT, ephemerals, unique_member


class PrivateRedis:
    """A redis-server of this test's own, to stop and restart empty (the shared one is never touched)."""

    def __init__(self, tmp: Path) -> None:
        self.port, self.tmp, self.proc = free_port(), tmp, None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(self.tmp)], stdout=subprocess.DEVNULL)
        wait_for(lambda: self._ping(), timeout=20, what="private redis")

    def _ping(self) -> bool:
        try:
            return bool(redis_lib.Redis.from_url(self.url, socket_timeout=0.5).ping())
        except redis_lib.RedisError:
            return False

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def test_a_replay_is_dropped_across_an_outage_a_second_replica_and_an_empty_restart(pg_url, standin,
                                                                                    tmp_path: Path) -> None:
    private = PrivateRedis(tmp_path)
    private.start()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = make_system("postgres+redis", pg_url, standin, tmp_path / "a", private.url)
    b = make_system("postgres+redis", pg_url, standin, tmp_path / "b", private.url)
    try:
        member = unique_member(a.services.system.engine)
        body = command_body(SUPPORT, f"find {member['member_number']}")
        headers = sign(SIGNING_SECRET, body)
        assert a.slack.send(body, headers).status == 200
        answered = wait_for(lambda: len(ephemerals(standin, SUPPORT)) >= 1 and len(ephemerals(standin, SUPPORT)),
                            timeout=20, what="the find answer")
        private.stop()  # Redis down
        outage = a.slack.send(body, headers)
        assert outage.status == 200 and outage.body == ""
        assert b.slack.send(body, headers).body == ""  # the other replica
        private.start()  # back, empty
        assert a.slack.send(body, headers).body == "" and b.slack.send(body, headers).body == ""
        fresh = command_body(SUPPORT, f"find {member['email']}")  # a new request is still acted on
        assert b.slack.send(fresh, sign(SIGNING_SECRET, fresh)).status == 200
        wait_for(lambda: len(ephemerals(standin, SUPPORT)) > answered, timeout=20, what="the second find")
        assert len(ephemerals(standin, SUPPORT)) == answered + 1  # the four replays did nothing
    finally:
        a.stop()
        b.stop()
        private.stop()


def test_when_the_guard_cannot_check_the_request_is_refused_with_a_clear_answer() -> None:
    dead = Database(f"postgresql://root@127.0.0.1:{free_port()}/nowhere")
    with pytest.raises(Unchecked, match="cannot check this request"):
        SeenRequests(dead, utcnow).first_time("v0=abc", "1700000000")
    dead.dispose()


def test_many_at_once_each_signed_request_is_acted_on_once_on_each_engine(db_url: str) -> None:
    """The guard commits keys in groups (requests that arrive while one group commits go in the next): under
    40 threads, two replicas and every key sent twice at once, each key is first exactly once, and every key
    is in the database when its answer is given."""
    db = Database(db_url)
    replicas = [SeenRequests(db, utcnow), SeenRequests(db, utcnow)]
    keys = [(f"v0={i:04d}", "1700000000") for i in range(60)]
    answers: list[tuple[int, bool]] = []
    start, lock = threading.Barrier(40), threading.Lock()

    def send(n: int) -> None:
        start.wait()
        for i in range(n % 2, len(keys), 2) if n < 20 else range(len(keys)):  # 20 threads halves, 20 all
            first = replicas[n % 2].first_time(*keys[i])
            with lock:
                answers.append((i, first))

    threads = [threading.Thread(target=send, args=(n,)) for n in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    try:
        assert len(answers) == 20 * 30 + 20 * 60
        firsts = sorted(i for i, first in answers if first)
        assert firsts == list(range(60))  # each once, none lost
        with db.session() as s:
            stored = s.execute(select(func.count()).select_from(m.SeenSlackRequest)).scalar_one()
        assert stored == 60
        assert replicas[0].first_time(*keys[0]) is False and replicas[1].first_time(*keys[59]) is False
    finally:
        for r in replicas:
            r.close()
        db.dispose()


def test_after_the_database_dropped_the_guards_connection_an_idle_guard_reconnects(pg_url: str) -> None:
    """The guard keeps a connection of its own on PostgreSQL; one the server ended meanwhile (a restart, a
    failover) is found by a check before use once idle, so the next request is checked, not refused."""
    db = Database(pg_url)
    guard = SeenRequests(db, utcnow)
    try:
        assert guard.first_time("v0=before", "1700000000") is True
        with db.engine.connect() as conn:
            ended = conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                                      "datname = current_database() AND pid <> pg_backend_pid()")).scalars().all()
        assert ended and all(ended)
        guard.idle_ping_s = 0.0  # as after five idle seconds
        assert guard.first_time("v0=after", "1700000000") is True
        assert guard.first_time("v0=after", "1700000000") is False  # and it was recorded
    finally:
        guard.close()
        db.dispose()

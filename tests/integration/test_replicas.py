"""Scaled out: two bot replicas and two workers, each with its own local folder, one PostgreSQL, one Redis,
exports in an S3-compatible bucket (moto's server). One archive per request, wherever it was built; a
replay sent to the other replica is dropped; the TTL and an erasure delete the stored archive whichever
machine runs them."""
from __future__ import annotations

from pathlib import Path

import boto3
from sqlalchemy import text, update

from devslack.driver import command_body, sign, wait_for
from gdpr.core import models as m
from tests.conftest import S3_BUCKET as BUCKET
from tests.conftest import SIGNING_SECRET, make_system
from tests.helpers import DPO, SUPPORT


def _objects(url: str) -> list[str]:
    listed = boto3.client("s3", endpoint_url=url).list_objects_v2(Bucket=BUCKET, Prefix="exports/")
    return sorted(o["Key"].split("/", 1)[1] for o in listed.get("Contents", []))


def _members(gym, n: int) -> list[dict]:
    with gym.connect() as conn:
        rows = conn.execute(text(
            "SELECT m.id, m.email, m.member_number FROM members m WHERE m.email IS NOT NULL AND "
            "(SELECT COUNT(*) FROM members o WHERE o.email = m.email) = 1 ORDER BY m.id LIMIT :n"), {"n": n}).mappings()
        return [dict(r) for r in rows]


def _file(replica, kind: str, number: str) -> int:
    """`/gdpr <kind>` through this replica, approved by the DPO; waits for this request's own card."""
    channel = replica.services.policy.channel("approvals")
    cards = lambda: [c for c in replica.standin.channel(channel) if c.get("blocks") and not c.get("thread_ts")]  # noqa: E731
    before = len(cards())
    replica.slack.command(SUPPORT, f"{kind} {number}")
    card = wait_for(lambda: len(found := cards()) > before and found[-1], timeout=20, what="the new card")
    request_id = int(card["blocks"][-1]["elements"][0]["value"])
    replica.slack.click(DPO, "request.approve", str(request_id), card["channel"], card["ts"])
    return request_id


def test_two_replicas_two_workers_one_bucket(pg_url, redis_url, standin, s3: str, tmp_path: Path) -> None:
    store = {"export_store": f"s3://{BUCKET}/exports", "s3_endpoint_url": s3}
    env = {"EXPORT_STORE": store["export_store"], "S3_ENDPOINT_URL": s3}
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
    a = make_system("postgres+redis", pg_url, standin, tmp_path / "a", redis_url, export_dir=tmp_path / "a-exports", **store)
    b = make_system("postgres+redis", pg_url, standin, tmp_path / "b", redis_url, export_dir=tmp_path / "b-exports", **store)
    try:
        for name in ("w1", "w2"):
            a.spawn("-m", "dramatiq", "workers.main", "--processes", "1", "--threads", "2", log_name=name,
                    EXPORT_DIR=str(tmp_path / name), **env)
        members = _members(a.services.system.engine, 4)
        ids = [_file(replica, "access", member["member_number"])
               for replica, member in zip((a, b, a, b), members, strict=True)]
        done = [a.wait_status(i) for i in ids]
        assert [r.status for r in done] == [m.DONE] * 4

        # one archive per request, in the bucket; no machine keeps a copy once its job is done
        stored = _objects(s3)
        assert stored == sorted(r.export_name for r in done)
        assert all(r.export_name.startswith(f"export-R{r.id}-") for r in done)
        for folder in ("w1", "w2", "a-exports", "b-exports"):
            assert not list((tmp_path / folder).glob("export-R*.zip")), folder

        # a replay of a signed command sent to the other replica is dropped there
        body = command_body(SUPPORT, f"find {members[0]['member_number']}")
        headers = sign(SIGNING_SECRET, body)
        assert "Working on" in a.slack.send(body, headers).json["text"]
        replay = b.slack.send(body, headers)
        assert replay.status == 200 and replay.body == ""

        # the TTL, run by replica B (another machine than the worker that built it), deletes from the bucket
        with a.services.db.session() as s:
            s.execute(update(m.SubjectRequest).where(m.SubjectRequest.id == done[0].id)
                      .values(finished_at=done[0].finished_at.replace(year=done[0].finished_at.year - 1)))
        assert b.services.exports.expire() >= 1
        assert done[0].export_name not in _objects(s3)
        assert a.services.requests.get(done[0].id).export_deleted_at is not None

        # an erasure deletes its subject's archive from the bucket, whichever worker runs it
        # (done, or telling the member's integrations: none answers here, and the archive went before that)
        erased = a.wait_status(_file(b, "erase", members[1]["member_number"]), (m.NOTIFYING, m.DONE, m.FAILED))
        assert erased.status in (m.NOTIFYING, m.DONE), erased.error
        assert _objects(s3) == sorted([done[2].export_name, done[3].export_name])

        # a machine that never built an archive fetches it from the bucket (a retry, a club's download)
        path = b.services.exports.fetch(done[2].export_name)
        assert path is not None and path.parent == tmp_path / "b-exports" and path.read_bytes()[:2] == b"PK"
        b.services.exports.release_local(done[2].export_name)
        assert not path.exists()
    finally:
        b.stop()
        a.stop()

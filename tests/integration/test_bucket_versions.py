"""An archive deleted from a bucket with versioning leaves no version behind (moto's S3 server)."""
from __future__ import annotations

from pathlib import Path

import boto3

from gdpr.requests.archives import S3Store
from tests.conftest import S3_BUCKET


def _versions(url: str) -> list[str]:
    client = boto3.client("s3", endpoint_url=url)
    listed = client.list_object_versions(Bucket=S3_BUCKET)
    return [v["Key"] for v in listed.get("Versions", []) + listed.get("DeleteMarkers", [])]


def test_a_deleted_archive_leaves_no_version_readable(s3: str, tmp_path: Path) -> None:
    boto3.client("s3", endpoint_url=s3).put_bucket_versioning(
        Bucket=S3_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    store = S3Store(f"s3://{S3_BUCKET}/exports", tmp_path / "local", endpoint=s3)
    archive = tmp_path / "export-R7-abc.zip"
    for content in (b"first", b"second"):  # two versions (a retry stored it again)
        archive.write_bytes(content)
        store.put(archive)
    other = tmp_path / "export-R8-def.zip"
    other.write_bytes(b"another request's")
    store.put(other)
    assert sorted(_versions(s3)) == ["exports/export-R7-abc.zip"] * 2 + ["exports/export-R8-def.zip"]

    assert store.delete("export-R7-abc.zip") is True
    assert _versions(s3) == ["exports/export-R8-def.zip"]  # no version, no delete marker; the other untouched
    assert store.delete("export-R7-abc.zip") is False
    assert store.fetch("export-R7-abc.zip") is None


def test_a_killed_workers_local_archive_is_swept_the_bucket_keeps_the_stored_one(standin, sqlite_url, s3: str,
                                                                                 tmp_path: Path) -> None:
    from sqlalchemy import text as sql

    from gdpr.core.db import make_engine
    from tests.conftest import make_system
    from tests.helpers import file_and_approve, unique_member
    system = make_system("embedded", sqlite_url, standin, tmp_path, None, export_store=f"s3://{S3_BUCKET}/exports",
                         s3_endpoint_url=s3)
    try:
        engine = make_engine(sqlite_url, immediate=False)
        member = unique_member(engine)
        engine.dispose()
        done = system.wait_status(file_and_approve(system, "access", member["member_number"]))
        local = system.settings.export_dir / done.export_name
        assert not local.exists()  # released once published
        local.write_bytes(b"PK what a worker killed before releasing it left behind")
        (system.settings.export_dir / f".work-{done.id}-dead").mkdir()
        system.services.housekeeping.reconcile()
        assert not local.exists() and not (system.settings.export_dir / f".work-{done.id}-dead").exists()
        assert f"exports/{done.export_name}" in _versions(s3)  # the stored archive stays until its end
        with system.services.db.session() as s:
            assert s.execute(sql("SELECT export_deleted_at FROM subject_requests WHERE id = :i"),
                             {"i": done.id}).scalar() is None
    finally:
        system.stop()

"""An archive deleted from a bucket with versioning leaves no version behind (moto's S3 server)."""
from __future__ import annotations

from pathlib import Path

import boto3

from gdpr.archives import S3Store
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

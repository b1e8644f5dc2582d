"""Where answered exports are kept between their answer and their end (TTL, erasure): EXPORT_DIR on the
machine that built them (the embedded default), or an S3-compatible object store (EXPORT_STORE=s3://bucket/
prefix) that every machine sees - with workers on several machines, the TTL purge and the deletion at
erasure must reach an archive wherever it was written.

An archive is always built in the worker's EXPORT_DIR (the private work folder, then the zip); `put`
stores it, `release_local` removes the machine's copy once the job is done with it, `fetch` brings it back
to a local path (a retry, a club's download), `delete` removes it from the store and the local folder.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

ARCHIVE_PREFIX = "export-R"


class ArchiveStore(Protocol):
    kind: str  # "local" | "s3" (recorded with each deletion)

    def put(self, path: Path) -> None: ...
    def fetch(self, name: str) -> Path | None: ...
    def release_local(self, name: str) -> None: ...
    def delete(self, name: str) -> bool: ...
    def stored(self) -> dict[str, dt.datetime]: ...  # name -> when it was written (archives only)


class LocalStore:
    """EXPORT_DIR itself: the archive stays where it was built."""
    kind = "local"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def put(self, path: Path) -> None:
        return None

    def fetch(self, name: str) -> Path | None:
        path = self.folder / Path(name).name
        return path if path.is_file() else None

    def release_local(self, name: str) -> None:
        return None  # the local copy is the stored one

    def delete(self, name: str) -> bool:
        path = self.folder / Path(name).name
        found = path.is_file()
        path.unlink(missing_ok=True)
        return found

    def stored(self) -> dict[str, dt.datetime]:
        if not self.folder.is_dir():
            return {}
        return {p.name: dt.datetime.fromtimestamp(p.stat().st_mtime, dt.UTC)
                for p in self.folder.glob(f"{ARCHIVE_PREFIX}*.zip") if p.is_file()}


class S3Store:
    """An S3-compatible bucket (AWS, MinIO, Ceph, ...) through boto3; objects are `prefix/name`, written
    with server-side encryption requested (the archives are AES-256 zips already)."""
    kind = "s3"

    def __init__(self, url: str, local: Path, *, endpoint: str | None = None, region: str | None = None,
                 names: str = ARCHIVE_PREFIX) -> None:
        """`names`: the prefix of the file names this store lists (export archives, or state backups)."""
        import boto3  # the `s3` extra: only a deployment that stores exports in a bucket needs it
        parsed = urlparse(url)
        self.bucket, self.prefix, self.local, self.names = parsed.netloc, parsed.path.strip("/"), local, names
        self.client = boto3.client("s3", endpoint_url=endpoint, region_name=region)

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{Path(name).name}" if self.prefix else Path(name).name

    def put(self, path: Path) -> None:
        self.client.upload_file(str(path), self.bucket, self._key(path.name),
                                ExtraArgs={"ServerSideEncryption": "AES256"})

    def fetch(self, name: str) -> Path | None:
        path = self.local / Path(name).name
        if path.is_file():
            return path
        from botocore.exceptions import ClientError
        self.local.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".partial")
        try:
            self.client.download_file(self.bucket, self._key(name), str(tmp))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        tmp.chmod(0o600)
        tmp.replace(path)
        return path

    def release_local(self, name: str) -> None:
        (self.local / Path(name).name).unlink(missing_ok=True)

    def delete(self, name: str) -> bool:
        """The object and, in a bucket with versioning, every version of it and every delete marker: a
        "deleted" archive must not stay readable by its version id. True when something was there."""
        self.release_local(name)
        key = self._key(name)
        versions = []
        for page in self.client.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=key):
            versions += [(v["Key"], v["VersionId"]) for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
                         if v["Key"] == key]
        for vkey, version in versions:
            self.client.delete_object(Bucket=self.bucket, Key=vkey, VersionId=version)
        return bool(versions)

    def stored(self) -> dict[str, dt.datetime]:
        found: dict[str, dt.datetime] = {}
        prefix = self._key(self.names)
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                found[obj["Key"].rsplit("/", 1)[-1]] = obj["LastModified"]
        return found


def make_store(url: str | None, local: Path, *, endpoint: str | None = None, region: str | None = None) -> ArchiveStore:
    """EXPORT_STORE: unset (or a path) keeps archives in EXPORT_DIR; `s3://bucket/prefix` in a bucket."""
    if url and url.startswith("s3://"):
        return S3Store(url, local, endpoint=endpoint, region=region)
    return LocalStore(local)

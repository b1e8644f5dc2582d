"""`gdpr-bot backup` / `gdpr-bot restore`: the state DB (the register of requests and breaches, the audit
chain, the erasure ledger) as one encrypted, compressed file kept away from the database's server.

Format: `GDPRBAK1`, a 12-byte nonce, then AES-256-GCM over a gzip of JSON lines - a header (schema
revision, tables, row counts, when) and one line per row, table by table in dependency order. The key
is BACKUP_KEY (64 hex characters) or, unset, one derived from SECRET_KEY (HKDF): a file alone opens for
nobody, and any change to it is detected before a row is restored. A restore goes into an empty state
DB at the same schema revision, then verifies the audit chain.

Only the bot's own tables are in it: on the embedded default the platform's tables share the file, and
those are the platform's to back up.
"""
from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import os
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Date, DateTime, Table, delete, func, insert, select, text

from gdpr.core import models as m
from gdpr.core.audit import verify_chain
from gdpr.core.db import Database
from gdpr.core.errors import GdprError

MAGIC = b"GDPRBAK1"
FORMAT = "gdpr-ops-bot/state-backup"
BATCH = 1000
SEEDED = {"audit_head", "deployment"}  # rows the migrations write (the chain's head, the deployment's key): the backup's win
NAME = "gdpr-state-{stamp}.bak"


class BackupError(GdprError):
    """A backup that cannot be read (wrong key, changed bytes) or restored (not empty, other schema)."""


@dataclass(frozen=True)
class Restored:
    rows: dict[str, int]
    chain_ok: bool
    events: int
    problems: list[str]


def backup_keys(ring: Sequence[bytes], explicit: str | None) -> list[bytes]:
    """BACKUP_KEY (hex) if set, else keys derived from the key ring for this purpose only, newest first: a
    backup is written with the first and opens with any (backups made before a rotation still restore)."""
    if explicit:
        try:
            key = bytes.fromhex(explicit.strip())
        except ValueError:
            raise BackupError("BACKUP_KEY must be 64 hex characters (32 bytes)") from None
        if len(key) != 32:
            raise BackupError("BACKUP_KEY must be 64 hex characters (32 bytes)")
        return [key]
    return [HKDF(algorithm=SHA256(), length=32, salt=None, info=b"gdpr-ops-bot:state-backup").derive(secret)
            for secret in ring]


def tables() -> list[Table]:
    return list(m.Base.metadata.sorted_tables)


def write_backup(db: Database, folder: Path, key: bytes, now: dt.datetime) -> Path:
    """Dump every state table into one encrypted file in `folder` (written to a temp name, then renamed)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = _dump(db, now)
    blob = gzip.compress("".join(lines).encode(), compresslevel=6)
    nonce = secrets.token_bytes(12)
    sealed = MAGIC + nonce + AESGCM(key).encrypt(nonce, blob, MAGIC)
    path = folder / NAME.format(stamp=now.strftime("%Y%m%dT%H%M%SZ"))
    tmp = path.with_suffix(".partial")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(sealed)
    tmp.replace(path)
    return path


def _dump(db: Database, now: dt.datetime) -> list[str]:
    with db.engine.connect() as conn:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        counts = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in tables()}
        lines = [json.dumps({"format": FORMAT, "version": 1, "revision": revision, "created_at": now.isoformat(),
                             "rows": counts}) + "\n"]
        for t in tables():
            order = list(t.primary_key.columns) or list(t.columns)[:1]
            for row in conn.execute(select(t).order_by(*order)).mappings():
                lines.append(json.dumps({"t": t.name, "r": {k: _plain(v) for k, v in row.items()}}) + "\n")
    return lines


def read_backup(path: Path, keys: Sequence[bytes]) -> Iterator[dict]:
    """The header, then the rows; BackupError if no key opens it or a byte changed."""
    data = path.read_bytes()
    if not data.startswith(MAGIC):
        raise BackupError(f"{path.name} is not a gdpr-bot backup")
    nonce, sealed = data[len(MAGIC):len(MAGIC) + 12], data[len(MAGIC) + 12:]
    blob = next((b for b in (_open(key, nonce, sealed) for key in keys) if b is not None), None)
    if blob is None:
        raise BackupError(f"{path.name} does not open with this key, or it was changed since it was written")
    for line in gzip.decompress(blob).decode().splitlines():
        yield json.loads(line)


def _open(key: bytes, nonce: bytes, sealed: bytes) -> bytes | None:
    try:
        return AESGCM(key).decrypt(nonce, sealed, MAGIC)
    except InvalidTag:
        return None


def restore_backup(db: Database, path: Path, keys: Sequence[bytes], ring: Sequence[bytes]) -> Restored:
    """Into an empty state DB at the backup's schema revision; then the audit chain is verified."""
    records = read_backup(path, keys)
    header = next(records)
    if header.get("format") != FORMAT:
        raise BackupError(f"{path.name} is not a state backup")
    with db.engine.connect() as conn:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        filled = [t.name for t in tables() if t.name not in SEEDED
                  and conn.execute(select(func.count()).select_from(t)).scalar_one()]
    if revision != header["revision"]:
        raise BackupError(f"the backup is at schema revision {header['revision']}, this database at {revision}: "
                          "restore into a database upgraded to the backup's revision")
    if filled:
        raise BackupError(f"the state database is not empty ({', '.join(filled[:3])}…): restore into an empty one")
    by_name = {t.name: t for t in tables()}
    done = _load(db, by_name, records, expected=header["rows"])
    with db.session() as s:
        report = verify_chain(s, ring)
    return Restored(rows=done, chain_ok=report.ok, events=report.events, problems=report.problems)


def _load(db: Database, by_name: dict[str, Table], records: Iterator[dict], *, expected: dict[str, int]) -> dict[str, int]:
    done = dict.fromkeys(by_name, 0)
    batch: list[dict] = []
    current: Table | None = None
    with db.engine.begin() as conn:  # one transaction: a restore that fails half way leaves nothing
        for name in SEEDED:
            conn.execute(delete(by_name[name]))
        for rec in records:
            t = by_name[rec["t"]]
            if current is not None and (t is not current or len(batch) >= BATCH):
                conn.execute(insert(current), batch)
                batch = []
            current = t
            batch.append(_typed(t, rec["r"]))
            done[t.name] += 1
        if current is not None and batch:
            conn.execute(insert(current), batch)
        if done != expected:  # raised inside the transaction: nothing of a short or padded file stays
            raise BackupError(f"restored row counts differ from the backup's header: {done} vs {expected}")
        if conn.dialect.name == "postgresql":  # sequences past the restored ids
            for t in by_name.values():
                if "id" in t.c and t.c.id.autoincrement:
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{t.name}', 'id'), "
                                      f"(SELECT COALESCE(MAX(id), 1) FROM {t.name}))"))
    return done


def _plain(value: object) -> object:
    if isinstance(value, (dt.datetime, dt.date)):
        return {"$dt": value.isoformat()}
    if isinstance(value, bytes):
        return {"$b64": base64.b64encode(value).decode()}
    return value


def _typed(t: Table, row: dict) -> dict:
    out = {}
    for name, value in row.items():
        if isinstance(value, dict) and "$dt" in value and len(value) == 1:
            col = t.c[name].type
            parsed = dt.datetime.fromisoformat(value["$dt"])
            value = parsed.date() if isinstance(col, Date) and not isinstance(col, DateTime) else parsed
        elif isinstance(value, dict) and "$b64" in value and len(value) == 1:
            value = base64.b64decode(value["$b64"])
        out[name] = value
    return out


def prune(folder: Path, keep: int) -> list[Path]:
    """The retention policy: keep the newest `keep` backups in `folder`, delete the older ones."""
    found = sorted(folder.glob(NAME.format(stamp="*")), key=lambda p: p.name, reverse=True)
    gone = found[keep:]
    for path in gone:
        path.unlink(missing_ok=True)
    return gone

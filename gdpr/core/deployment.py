"""One deployment per folder. A folder the bot writes (EXPORT_DIR, a local BACKUP_DIR) is marked with
its deployment's key (made with the state database); a process of another deployment - another state
database pointed at the same folder - refuses to start rather than sweep, erase or prune the first
one's files as its own (request numbers repeat across deployments, so file names would collide too)."""
from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import select

from gdpr.core import models as m
from gdpr.core.db import Database
from gdpr.core.errors import ConfigError

MARKER = ".gdpr-bot-deployment"


def deployment_key(db: Database) -> str:
    with db.session() as s:
        return s.execute(select(m.Deployment.key).where(m.Deployment.id == 1)).scalar_one()


def claim(folder: Path, key: str, *, variable: str) -> None:
    """Mark `folder` as this deployment's, or raise ConfigError (naming `variable`) when another's."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file where the folder should be, or no permission
        raise ConfigError(f"{variable} ({folder}) cannot be used as a folder: {type(exc).__name__}") from None
    marker = folder / MARKER
    try:
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        found = marker.read_text().strip()
        if found != key:
            raise ConfigError(f"{variable} ({folder}) belongs to another deployment (another state database); "
                              f"give each deployment its own folder") from None
        return
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")


def claim_exports(db: Database, export_dir: Path) -> None:
    """At a process's start: EXPORT_DIR is this deployment's (a local BACKUP_DIR is claimed by `backup`)."""
    claim(Path(export_dir), deployment_key(db), variable="EXPORT_DIR")

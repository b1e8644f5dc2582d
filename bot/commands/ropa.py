"""`/gdpr ropa` on Slack: the record of processing activities as two files in the channel (HTML to read,
JSON to process), its version and what changed since the last one."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

from slack_sdk import WebClient

from bot.grammar import Command
from gdpr.app.ropa import Records
from gdpr.core.access import Actor


def ropa(client: WebClient, actor: Actor, channel: str, cmd: Command, *, records: Records) -> None:
    version, html = records.record(actor=actor)
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for suffix, content in (("html", html), ("json", json.dumps(version.record, indent=2, default=str))):
            path = Path(tmp) / f"ropa-v{version.number}.{suffix}"
            path.write_text(content)
            files.append({"file": str(path), "filename": path.name, "title": f"Record of processing v{version.number}"})
        changed = "; ".join(version.changes) or "none"
        client.files_upload_v2(channel=channel, file_uploads=files,
                               initial_comment=f":ledger: Record of processing activities (Art. 30(2)), version "
                                               f"{version.number} of {version.created_at:%d %b %Y}. Changes: {changed}")

"""Human-readable rendering of what the stand-in saw, as a person in Slack would read it."""
from __future__ import annotations

from devslack.server import USERS, Call


def blocks_text(blocks: object) -> str:
    if not isinstance(blocks, list):
        return ""
    lines = []
    for b in blocks:
        if b.get("type") in ("header", "section") and b.get("text"):
            lines.append(b["text"]["text"])
        if b.get("fields"):
            lines.append(" | ".join(f["text"] for f in b["fields"]))
        if b.get("type") == "context":
            lines.append(" ".join(e.get("text", "") for e in b["elements"]))
        if b.get("type") == "actions":
            lines.append("  ".join(f"[{e['text']['text']}]" for e in b["elements"]))
    return "\n".join(lines)


def who(channel: str) -> str:
    if channel.startswith("D"):
        return f"DM to {USERS.get(channel[1:], channel[1:])}"
    return f"#{channel}"


def render_call(call: Call) -> str | None:
    a = call.args
    body = blocks_text(a.get("blocks")) or a.get("text") or ""
    indent = "\n    ".join(body.splitlines())
    if call.method == "chat.postMessage":
        where = who(a["channel"]) + (" (thread)" if a.get("thread_ts") else "")
        return f"[{where}] gdpr-bot:\n    {indent}"
    if call.method == "chat.update":
        return f"[{who(a['channel'])}] gdpr-bot edited its message:\n    {indent}"
    if call.method == "chat.postEphemeral":
        return f"[#{a['channel']}, only visible to {USERS.get(a['user'], a['user'])}] gdpr-bot:\n    {indent}"
    if call.method == "files.completeUploadExternal":
        return f"[{who(a.get('channel_id', '?'))} (thread)] gdpr-bot uploaded a file:\n    {a.get('initial_comment', '')}"
    if call.method == "views.open":
        return "[modal] gdpr-bot opened a modal"
    return None


def render(calls: list[Call]) -> str:
    return "\n".join(line for line in (render_call(c) for c in calls) if line)

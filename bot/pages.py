"""Long outputs, paged: a window of lines (newest first) in sections within Block Kit's limits (3,000
characters a section, 50 blocks a message), a line saying what is shown and what is not, and
Previous / Next buttons that ask the use case for the neighbouring window again (authorised and
audited again; the button carries the view, its argument and the offset - never personal data)."""
from __future__ import annotations

from bot.render import mrkdwn, plain
from gdpr.app.reads import Page

SECTION = 1990  # characters per section (Slack allows 3,000; `plain` keeps 2,000)
LINE = 300  # a longer line is cut with a mark, and the whole is in the file the view names


def line_sections(lines: list[str], *, markup: bool = False, emoji: bool = False) -> list[dict]:
    """Lines in as few sections as fit; `markup` lines are mrkdwn (already escaped), others plain text
    (`emoji`: whose :codes: Slack draws; a mention in plain text is never parsed either way)."""
    out, current = [], ""
    for line in lines:
        line = line if len(line) <= LINE else line[:LINE - 1] + "…"
        if current and len(current) + len(line) + 1 > SECTION:
            out.append(current)
            current = ""
        current += ("\n" if current else "") + line
    if current:
        out.append(current)
    return [{"type": "section", "text": mrkdwn(t) if markup else {**plain(t), "emoji": emoji}} for t in out]


def window(page: Page, noun: str, *, whole: str | None = None) -> dict:
    """What this page shows of how many, and where the rest is."""
    if not page.total:
        return {"type": "context", "elements": [mrkdwn(f"No {noun}.")]}
    first, last = page.offset + 1, page.offset + len(page.items)
    text = f"Showing {noun} {first}–{last} of {page.total}, newest first."
    if page.total > len(page.items):
        text += f" {page.total - len(page.items)} not shown: use ◀ Newer / Older ▶"
        text += f", or {whole} for the whole." if whole else "."
    return {"type": "context", "elements": [mrkdwn(text)]}


def nav(view: str, arg: str, page: Page, per_page: int) -> list[dict]:
    buttons = []
    if page.offset > 0:
        buttons.append({"type": "button", "action_id": "page.previous", "text": plain("◀ Newer"),
                        "value": f"{view}|{arg}|{max(0, page.offset - per_page)}"})
    if page.has_more:
        buttons.append({"type": "button", "action_id": "page.next", "text": plain("Older ▶"),
                        "value": f"{view}|{arg}|{page.offset + len(page.items)}"})
    return [{"type": "actions", "block_id": f"page-{view}-{page.offset}", "elements": buttons}] if buttons else []


def parse_value(value: str) -> tuple[str, str, int]:
    """A page button's value: (view, argument, offset); ValueError when it is not one."""
    view, arg, offset = value.split("|")
    return view, arg, int(offset)

"""The `/gdpr` command grammar."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from gdpr.clubs.offboarding import CHOICES as OFFBOARD_CHOICES  # Art. 28(3)(g): the club's choice
from gdpr.core.errors import UsageError

MAX_TEXT = 500
HELP = """*`/gdpr` — GDPR operations*
• `/gdpr help` — this list
• `/gdpr find <email | phone | member number> [--club CLUB]` — look a member or lead up (masked)
• `/gdpr access <email | phone | member number> [--club CLUB] [--received YYYY-MM-DD]` — right of access: export a member's data for their club (DPO approves; the month runs from the club's receipt, default today)
• `/gdpr access lead <email | phone>` — the same for a CRM lead
• `/gdpr erase <email | phone | member number> [--club CLUB] [--received YYYY-MM-DD]` — right to be forgotten: anonymise a member everywhere (DPO approves a preview)
• `/gdpr erase lead <email | phone>` — the same for a CRM lead
• `/gdpr crm purge [--status rejection] [--older-than 30d] [--club CLUB]` — remove CRM leads in bulk (DPO approves a preview)
• `/gdpr retention report` — per retention policy: what was deleted in the last 30 days, what is due next
• `/gdpr breach` — report a personal-data breach (a form; the 72-hour clock starts from awareness)
• `/gdpr breach list | show B-12 | register` — the breach register (the register as an encrypted file)
• `/gdpr breach update B-12 | close B-12` — new facts (a follow-up notice to the clubs), close-out
• `/gdpr breach file B-12` — one breach's signed, encrypted file for the supervisory authority (Art. 33(5))
• `/gdpr grant [lead] <email | member number> <30m | 2h> <investigation>` — temporary unmasked access to one subject (the DPO approves; at most your role's cap; ends by itself)
• `/gdpr grants` — live and pending temporary access (the DPO sees all, others their own)
• `/gdpr revoke G-12 [reason]` — end temporary access now (DPO)
• `/gdpr consent [lead] <email | phone | member number>` — the subject's agreements (marketing, integrations, profiling) with version, channel and time
• `/gdpr withdraw [lead] <email | phone | member number> <agreement | marketing | profiling>` — record a withdrawal of consent: processing stops, integrations are told (no approval needed)
• `/gdpr object [lead] <email | phone | member number> <marketing | profiling>` — the same for an objection (Art. 21(2)-(3)); to marketing, profiling stops too
• `/gdpr object [lead] <email | phone | member number> interests` — an objection to processing on legitimate interests (Art. 21(1)): the club decides, the DPO records it on the card; upheld, that data is erased
• `/gdpr restrict [lead] <email | member number> <ground>` — restrict processing on the club's instruction (Art. 18): the platform only stores the data, recipients are told (no approval needed)
• `/gdpr restrict lift [lead] <email | member number> <reason>` — lift it (the DPO approves; the club is mailed, Art. 18(3))
• `/gdpr rectify [lead] <email | member number> <field>=<value>[; <field>=<value>…]` — correct data on the club's instruction (Art. 16; the DPO approves; the card shows the fields, never the values; recipients are told)
• `/gdpr audit [lead] <email | phone | member number> [--club CLUB]` — one subject's history: the bot's actions and the platform's change log, newest first, paged (`audit.read`)
• `/gdpr club token create|rotate <club> [--ip 203.0.113.0/24,…]`, `/gdpr club token revoke <club>`, `/gdpr club tokens` — the clubs' API credentials (DPO; a new token is shown to you alone, once, as an ephemeral message)
• `/gdpr club offboard <club> [return-and-delete | return-only | delete-only]` — end a club's contract (Art. 28(3)(g)) as the club chose (default: return and delete): its open requests closed with a notice, a dry run, then (another DPO approves) its data exported for return, every row of its members and leads deleted in checkpointed batches (its holds are its own now), the recipients told, a signed completion statement once they all were
• `/gdpr ropa` — the processor's record of processing activities (Art. 30(2)) as HTML and JSON files, versioned, with what changed (`audit.read`)
• `/gdpr extend R-12 [--months 1|2] <reasons>` — more time for a request, once, within its first month (DPO; the reasons go to the club)
• `/gdpr refuse R-12 <ground>` — refuse a manifestly unfounded or excessive request (DPO; a notice for the club with the remedies)"""
USAGE = {
    "find": "Usage: `/gdpr find <email | phone | member number> [--club CLUB]`",
    "access": "Usage: `/gdpr access [lead] <email | phone | member number> [--club CLUB] [--received YYYY-MM-DD]`",
    "erase": "Usage: `/gdpr erase [lead] <email | phone | member number> [--club CLUB] [--received YYYY-MM-DD]`",
    "crm": "Usage: `/gdpr crm purge [--status rejection] [--older-than 30d] [--club CLUB]` "
           "(durations: `30d`, `12w`, `24mo`, `1y`)",
    "retention": "Usage: `/gdpr retention report`",
    "breach": "Usage: `/gdpr breach` (report), `/gdpr breach list`, `/gdpr breach show B-12`, "
              "`/gdpr breach register`, `/gdpr breach update B-12`, `/gdpr breach close B-12`, `/gdpr breach file B-12`",
    "grant": "Usage: `/gdpr grant [lead] <email | member number> <duration: 30m, 2h> <investigation>` "
             "(e.g. `/gdpr grant M0001234 2h ticket 4411: billing dispute`)",
    "grants": "Usage: `/gdpr grants`",
    "revoke": "Usage: `/gdpr revoke G-12 [reason]`",
    "consent": "Usage: `/gdpr consent [lead] <email | phone | member number> [--club CLUB]`",
    "withdraw": "Usage: `/gdpr withdraw [lead] <email | phone | member number> <agreement code | marketing | profiling>`",
    "object": "Usage: `/gdpr object [lead] <email | phone | member number> <marketing | profiling | interests>`",
    "audit": "Usage: `/gdpr audit [lead] <email | phone | member number> [--club CLUB]`",
    "restrict": "Usage: `/gdpr restrict [lead] <email | member number> <ground>` (Art. 18(1)), or "
                "`/gdpr restrict lift [lead] <email | member number> <reason>`",
    "rectify": "Usage: `/gdpr rectify [lead] <email | member number> <field>=<value>[; <field>=<value>…]` "
               "(e.g. `/gdpr rectify M0001234 street=Kerkstraat 5; postcode=9000`)",
    "club": "Usage: `/gdpr club token create|rotate <club> [--ip 203.0.113.0/24,198.51.100.7]`, "
            "`/gdpr club token revoke <club>`, `/gdpr club tokens`, "
            "`/gdpr club offboard <club> [return-and-delete | return-only | delete-only]`",
    "ropa": "Usage: `/gdpr ropa`",
    "extend": "Usage: `/gdpr extend R-12 [--months 1|2] <reasons the club passes on>`",
    "refuse": "Usage: `/gdpr refuse R-12 <ground: why the request is manifestly unfounded or excessive>`",
}
# Every command name `parse` returns; bot/commands/table.py answers each (help is answered in the ack).
COMMANDS = frozenset({
    "help", "find", "access", "erase", "extend", "refuse", "crm purge", "retention report", "breach", "breach list",
    "breach show", "breach register", "breach update", "breach close", "breach file", "grant", "grants", "revoke", "consent",
    "withdraw", "object", "restrict", "restrict lift", "rectify", "audit", "club tokens", "club token create", "club token rotate", "club token revoke",
    "club offboard", "ropa"})
REQUEST_REF = re.compile(r"^[Rr]-?(\d{1,9})$")
GRANT_REF = re.compile(r"^[Gg]-?(\d{1,9})$")
BREACH_VERBS = {"list": False, "register": False, "show": True, "update": True, "close": True, "file": True}
BULK_OPTIONS = {"--status", "--older-than", "--club"}


@dataclass(frozen=True)
class Command:
    name: str
    identity: str = ""
    subject_type: str = "member"
    club: str | None = None
    options: tuple[tuple[str, str], ...] = ()


def parse(text: str) -> Command:
    """Turn the text after `/gdpr` into a Command, or raise UsageError with the right usage line."""
    if len(text) > MAX_TEXT:
        raise UsageError(f"That command is too long ({len(text)} characters; at most {MAX_TEXT}).")
    words = text.split()
    if not words or words[0].lower() == "help":
        return Command("help")
    name, rest = words[0].lower(), words[1:]
    if name not in USAGE:
        raise UsageError(f"Unknown command `{name[:30]}`.\n{HELP}")
    if name in ("crm", "retention"):
        return _bulk(name, rest)
    if name == "breach":
        return _breach(rest)
    if name in ("grants", "revoke"):
        return _grant_admin(name, rest)
    if name in ("extend", "refuse"):
        return _deadline(name, rest)
    if name == "club":
        return _club(rest)
    if name == "ropa":
        if rest:
            raise UsageError(USAGE[name])
        return Command(name)
    club, rest = _option(name, rest, "--club")
    received, rest = _option(name, rest, "--received") if name in ("access", "erase") else (None, rest)
    if received is not None:
        try:
            dt.date.fromisoformat(received)
        except ValueError:
            raise UsageError(f"`{received[:20]}` is not a date: write `--received 2026-11-02`.") from None
    if name in ("restrict", "rectify"):
        return _rights(name, rest, club)
    subject_type = "member"
    if name in ("access", "erase", "grant", "audit", "consent", "withdraw", "object") and rest and rest[0].lower() == "lead":
        subject_type, rest = "lead", rest[1:]
    if name in ("withdraw", "object"):
        if len(rest) != 2 or rest[0].startswith("--"):
            raise UsageError(USAGE[name])
        return Command(name, identity=rest[0], subject_type=subject_type, club=club,
                       options=(("what", rest[1].lower()),))
    if name == "grant":
        if len(rest) < 3 or rest[0].startswith("--"):
            raise UsageError(USAGE[name])
        return Command(name, identity=rest[0], subject_type=subject_type, club=club,
                       options=(("duration", rest[1].lower()), ("reason", " ".join(rest[2:]))))
    if len(rest) > 1 and all(re.fullmatch(r"[\d+()\-/.]+", w) for w in rest):
        rest = [" ".join(rest)]  # a phone number typed with spaces
    if len(rest) != 1 or rest[0].startswith("--"):
        raise UsageError(USAGE[name])
    return Command(name, identity=rest[0], subject_type=subject_type, club=club,
                   options=(("received", received),) if received else ())


def _rights(name: str, rest: list[str], club: str | None) -> Command:
    """`restrict <id> <ground>`, `restrict lift <id> <reason>`, `rectify <id> <field=value; …>` (each `[lead]`)."""
    verb = name
    if name == "restrict" and rest and rest[0].lower() == "lift":
        verb, rest = "restrict lift", rest[1:]
    subject_type = "member"
    if rest and rest[0].lower() == "lead":
        subject_type, rest = "lead", rest[1:]
    if len(rest) < 2 or rest[0].startswith("--"):
        raise UsageError(USAGE[name])
    said = {"restrict": "ground", "restrict lift": "reason", "rectify": "changes"}[verb]
    return Command(verb, identity=rest[0], subject_type=subject_type, club=club, options=((said, " ".join(rest[1:])),))


def _option(name: str, rest: list[str], flag: str) -> tuple[str | None, list[str]]:
    """`flag value` taken out of the words (lower-cased), or None."""
    if flag not in rest:
        return None, rest
    i = rest.index(flag)
    if i + 1 >= len(rest):
        raise UsageError(USAGE[name])
    return rest[i + 1].lower(), rest[:i] + rest[i + 2:]


def _club(rest: list[str]) -> Command:
    if [w.lower() for w in rest] == ["tokens"]:
        return Command("club tokens")
    if rest and rest[0].lower() == "offboard":
        if len(rest) not in (2, 3) or (len(rest) == 3 and rest[2].lower() not in OFFBOARD_CHOICES):
            raise UsageError(USAGE["club"])
        choice = rest[2].lower() if len(rest) == 3 else OFFBOARD_CHOICES[0]
        return Command("club offboard", identity=rest[1].lower(), options=(("choice", choice),))
    ips, rest = _option("club", rest, "--ip")
    if len(rest) != 3 or rest[0].lower() != "token" or rest[1].lower() not in ("create", "rotate", "revoke") \
            or (ips and rest[1].lower() == "revoke"):
        raise UsageError(USAGE["club"])
    return Command(f"club token {rest[1].lower()}", identity=rest[2].lower(), options=(("ip", ips),) if ips else ())


def _deadline(name: str, rest: list[str]) -> Command:
    months, rest = _option(name, rest, "--months") if name == "extend" else (None, rest)
    found = REQUEST_REF.match(rest[0]) if rest else None
    if found is None or len(rest) < 2 or months not in (None, "1", "2"):
        raise UsageError(USAGE[name])
    options = (("months", months or "2"),) if name == "extend" else ()
    return Command(name, identity=found.group(1), options=(*options, ("reason", " ".join(rest[1:]))))


def _bulk(name: str, rest: list[str]) -> Command:
    """`crm purge [--option value]...` and `retention report`: options once each, each with a value."""
    verb = "purge" if name == "crm" else "report"
    if not rest or rest[0].lower() != verb:
        raise UsageError(USAGE[name])
    options: dict[str, str] = {}
    words = rest[1:]
    if name == "retention" and words:
        raise UsageError(USAGE[name])
    for i in range(0, len(words), 2):
        flag = words[i].lower()
        if flag not in BULK_OPTIONS or flag.lstrip("-") in options or i + 1 >= len(words) or words[i + 1].startswith("--"):
            raise UsageError(USAGE[name])
        options[flag.lstrip("-")] = words[i + 1].lower()
    return Command(f"{name} {verb}", options=tuple(sorted(options.items())))


def _grant_admin(name: str, rest: list[str]) -> Command:
    if name == "grants":
        if rest:
            raise UsageError(USAGE[name])
        return Command(name)
    found = GRANT_REF.match(rest[0]) if rest else None
    if found is None:
        raise UsageError(USAGE[name])
    return Command(name, identity=found.group(1), options=(("reason", " ".join(rest[1:])),) if rest[1:] else ())


def _breach(rest: list[str]) -> Command:
    if not rest:
        return Command("breach")
    verb = rest[0].lower()
    if verb not in BREACH_VERBS or len(rest) != (2 if BREACH_VERBS[verb] else 1):
        raise UsageError(USAGE["breach"])
    return Command(f"breach {verb}", identity=rest[1] if BREACH_VERBS[verb] else "")

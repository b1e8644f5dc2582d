"""Logging that cannot carry personal data, whatever a library logs.

Bolt logs the whole body of every request it refuses (a bad signature, an old timestamp) and sets
its loggers' levels from the root logger's, so quieting `slack_bolt` does not reach them; Dramatiq's
CLI adds handlers of its own in every worker process. A filter on some handlers would miss records,
so this works one step earlier: a LogRecord factory, through which every record of the process is
made, replaces the message (and any traceback) with a scrubbed text before any handler sees it.

Scrubbing: request bodies and form or JSON payload fields are withheld; URL-encoded text is decoded
first; e-mail addresses, IBANs and phone-like numbers are replaced by a placeholder.
"""
from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import time
import traceback
from collections.abc import Callable
from urllib.parse import unquote_plus

WITHHELD = "[withheld]"
_BODY = re.compile(r"(?is)\b(body|payload|raw_body|request body)\b\s*[:=]\s*.*")
_FIELDS = re.compile(r"""(?ix)
    (?P<key>["']?\b(?:text|value|user_name|name|first_name|last_name|real_name|email|phone|response_url|
                      trigger_id|private_metadata|token|description)\b["']?)
    (?P<sep>\s*[:=]\s*)
    (?P<val>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^&\s,}]*)""")
_EMAIL = re.compile(r"[^\s@<>|\"'(),;:&=/]+@[^\s@<>|\"'(),;:&=/]+\.[A-Za-z]{2,}")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b")
_KEEP = re.compile(r"\d{10}\.\d{6}|\d{4}-\d{2}-\d{2}(?:[ T]\d{2})?")  # a Slack message ts, a date
_NUMBER = re.compile(r"\+?\d[\d \-/().]{6,}\d")


_ENCODED = re.compile(r"%[0-9A-Fa-f]{2}")
_TIMES = re.compile(  # timestamps libraries log (ISO, with or without zone; day/month/year; Apache's); never phones
    r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?"
    r"|\b\d{1,2}/\d{1,2}/\d{4}[ T]\d{2}:\d{2}(?::\d{2})?"
    r"|\b\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2}(?: [+-]\d{4})?"
    r"|\b[A-Z][a-z]{2} \d{1,2} \d{4} \d{2}:\d{2}:\d{2}")


def scrub(text: str) -> str:
    """The text with request bodies, payload fields, e-mails, IBANs and phone-like numbers withheld.
    URL-encoded text is decoded first (only when it is: a `+` in a timestamp's zone is not a space);
    timestamps are kept whole."""
    if _ENCODED.search(text):
        text = unquote_plus(text)
    text = _BODY.sub(lambda m: f"{m.group(1)}: {WITHHELD}", text)
    text = _FIELDS.sub(lambda m: f"{m.group('key')}{m.group('sep')}{WITHHELD}", text)
    text = _EMAIL.sub("[email]", text)
    text = _IBAN.sub("[iban]", text)
    kept, out = 0, []
    for stamp in _TIMES.finditer(text):  # numbers are looked for between timestamps only
        out += [_NUMBER.sub(_number, text[kept:stamp.start()]), stamp.group(0)]
        kept = stamp.end()
    return "".join(out) + _NUMBER.sub(_number, text[kept:])


def _number(match: re.Match) -> str:
    value = match.group(0)
    if _KEEP.fullmatch(value.strip()) or sum(ch.isdigit() for ch in value) < 8:
        return value  # a Slack message timestamp, a date or a small count: not a phone
    return "[number]"


class _Factory:
    """Wraps the previous LogRecord factory; installed once per process."""

    def __init__(self, previous: Callable[..., logging.LogRecord]) -> None:
        self.previous = previous

    def __call__(self, *args: object, **kwargs: object) -> logging.LogRecord:
        record = self.previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception as exc:  # a malformed format string: keep its class, never its arguments
            message = f"{record.msg!r:.80} (unformattable: {type(exc).__name__})"
        record.msg, record.args = scrub(message), None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = scrub("".join(traceback.format_exception(*record.exc_info)).rstrip())
            record.exc_info = None
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return record


def install() -> None:
    """Make every log record of this process go through `scrub` (idempotent)."""
    current = logging.getLogRecordFactory()
    if not isinstance(current, _Factory):
        logging.setLogRecordFactory(_Factory(current))


EVENT_FIELDS = ("command", "outcome", "duration_ms", "job", "message_id", "attempt", "request_id", "run_id",
                "status", "route")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the event fields a record carries
    (`extra=`), scrubbed like the message. Tracebacks (already scrubbed) go in `exc`."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, object] = {"ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
                 "level": record.levelname, "logger": record.name, "message": record.getMessage(),
                 "process": record.process}
        for key in EVENT_FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                plain = isinstance(value, (int, float, bool)) or key == "message_id"  # a UUID, not a phone number
                event[key] = value if plain else scrub(str(value))
        if record.exc_text:
            event["exc"] = record.exc_text
        return json.dumps(event, ensure_ascii=False, default=str)


JsonFormatter.converter = time.gmtime  # timestamps in UTC, as the Z says


def json_logs(fmt: str | None = None) -> bool:
    return (fmt or os.environ.get("LOG_FORMAT", "console")).lower() == "json"


def say(text: str) -> None:
    """One line for the operator on stderr (a refusal to start): a JSON event when the logs are JSON."""
    if json_logs():
        text = json.dumps({"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000Z", "level": "ERROR",
                           "logger": "gdpr.cli", "message": text, "process": os.getpid()}, ensure_ascii=False)
    print(text, file=sys.stderr, flush=True)


def configure(level: str | int = "INFO", fmt: str | None = None) -> None:
    """Root logging for a gdpr-bot process: safe records; LOG_FORMAT=json (one JSON event per line, for a
    log pipeline) or the plain console format (development). Handlers added before (Dramatiq's CLI adds
    its own in every worker process) get the same formatter."""
    install()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.captureWarnings(True)  # a library's warning is a record like any other, not a bare stderr line
    if json_logs(fmt):
        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonFormatter())
        uncaught = logging.getLogger("gdpr.uncaught")  # a crash is one event with its traceback inside
        sys.excepthook = lambda kind, exc, tb: uncaught.critical("uncaught %s", kind.__name__, exc_info=(kind, exc, tb))
        threading.excepthook = lambda args: uncaught.critical(
            "uncaught %s in thread %s", args.exc_type.__name__, getattr(args.thread, "name", "?"),
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback))  # type: ignore[arg-type]
    for noisy in ("slack_sdk", "urllib3", "waitress.queue", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

"""Outgoing mail: SMTP in production (SMTP_URL), .eml files in an outbox folder on the embedded default."""
from __future__ import annotations

import os
import smtplib
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse


class Mailer(Protocol):
    def send(self, msg: EmailMessage) -> None: ...


class MailError(Exception):
    """The message was not accepted; the outbox keeps it and tries again."""


class SmtpMailer:
    """smtp://[user:password@]host[:port] (STARTTLS when offered), or smtps:// for implicit TLS."""

    def __init__(self, url: str, timeout: float = 15.0) -> None:
        parts = urlparse(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://host:25 or smtps://user:password@host:465")
        self._tls = parts.scheme == "smtps"
        self._host, self._port = parts.hostname, parts.port or (465 if self._tls else 25)
        self._user = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self._timeout = timeout

    def send(self, msg: EmailMessage) -> None:
        cls = smtplib.SMTP_SSL if self._tls else smtplib.SMTP
        try:
            with cls(self._host, self._port, timeout=self._timeout) as smtp:
                if not self._tls and smtp.has_extn("starttls"):
                    smtp.starttls()
                if self._user:
                    smtp.login(self._user, self._password or "")
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as exc:  # only the class: replies can quote addresses
            raise MailError(type(exc).__name__) from None


class OutboxMailer:
    """The embedded default: each message is written as an .eml file (named by a random id)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, msg: EmailMessage) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.folder / f".{uuid.uuid4().hex}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # owner only, whatever the umask
        with os.fdopen(fd, "wb") as fh:
            fh.write(bytes(msg))
        tmp.rename(self.folder / f"{uuid.uuid4().hex}.eml")


def build_message(*, sender: str, to: str, subject: str, body: str, idempotency_key: str) -> EmailMessage:
    """A plain-text message whose Message-ID is derived from the notice, so a resend is recognisable."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"] = formatdate(usegmt=True)  # RFC 5322 requires it; mail servers and clients sort by it
    msg["Message-ID"] = make_msgid(idstring=idempotency_key, domain="gdpr-bot.local")
    msg.set_content(body)
    return msg


def make_mailer(smtp_url: str | None, outbox: Path) -> Mailer:
    return SmtpMailer(smtp_url) if smtp_url else OutboxMailer(outbox)

"""Every store the bot writes something about a subject into, listed once, and what erasure does to each.

| store        | what the bot writes there about a subject               | what erasure does                     |
|--------------|---------------------------------------------------------|---------------------------------------|
| platform     | nothing of its own; the data map's tables               | anonymises (gdpr/erasure/engine/engine.py), proves  |
|              |                                                         | by a residue search (gdpr/erasure/engine/residue.py) |
| state        | requests, audit, ledger, notices, breaches: references  | searched for the former identifiers   |
|              | only (pseudonyms, keys, keyed hashes)                   | like the platform (same search)       |
| slack        | cards and threads of requests and grants (masked)       | every message of the subject's        |
|              |                                                         | requests and grants re-rendered       |
| files        | export archives and work folders (EXPORT_DIR), mail     | the subject's archives deleted (and   |
|              | written as .eml without SMTP (OUTBOX_DIR)               | from Slack); mail naming them deleted |
| object store | export archives in a bucket (EXPORT_STORE), versions    | every version deleted                 |
| redis        | job messages (ids only)                                 | searched for the former identifiers   |

Each store answers `forget(subject)` with a proof: clean or not, and counts - never an identifier. An
erasure is *done* only when every store is clean. The identifiers live in memory for the one job.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gdpr.erasure.engine import Identifiers
from gdpr.erasure.residue import alternation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ErasedSubject:
    kind: str
    key: str
    ref: str  # the keyed pseudonym the state database files the subject's requests under
    identifiers: Identifiers
    request_id: int | None = None  # the erasure request this is the proof of (None: a bulk run's)


@dataclass(frozen=True)
class StoreProof:
    store: str
    clean: bool
    detail: dict[str, Any] = field(default_factory=dict)  # counts and table.column names, no identifier

    def as_json(self) -> dict[str, Any]:
        return {"store": self.store, "clean": self.clean, **self.detail}


class SubjectStore(Protocol):
    name: str

    def forget(self, subject: ErasedSubject) -> StoreProof: ...


def forget_everywhere(stores: Iterable[SubjectStore], subject: ErasedSubject) -> list[StoreProof]:
    """Each store in turn; a store that fails is reported unclean (with the error's class), never skipped."""
    proofs = []
    for store in stores:
        try:
            proofs.append(store.forget(subject))
        except Exception as exc:  # a store down is a proof not given: the request is not done
            log.warning("store %s could not forget the subject (%s)", store.name, type(exc).__name__)
            proofs.append(StoreProof(store.name, False, {"error": type(exc).__name__}))
    return proofs


def matching(text: str, identifiers: Identifiers) -> bool:
    """Whether a text holds one of the identifiers (a phone in any format), lower-cased."""
    import re
    regex = alternation(identifiers.values | identifiers.names)
    return bool(regex and re.search(regex, text.lower()))


@dataclass
class MailFiles:
    """OUTBOX_DIR (.eml files written without SMTP_URL): a member's Art. 34 notice names them."""
    folder: Path | None
    name: str = "mail"

    def forget(self, subject: ErasedSubject) -> StoreProof:
        if self.folder is None or not self.folder.is_dir():
            return StoreProof("mail", True, {"mail_deleted": 0})
        gone = 0
        for path in sorted(self.folder.glob("*.eml")):
            try:
                text = path.read_bytes().decode("utf-8", "replace")
            except FileNotFoundError:
                continue
            if matching(_unfolded(text), subject.identifiers):
                path.unlink(missing_ok=True)
                gone += 1
        return StoreProof("mail", True, {"mail_deleted": gone})


def _unfolded(text: str) -> str:
    """A mail's text with quoted-printable soft breaks and encoded words undone, so a name or an email
    split across lines is still found."""
    import email
    from email.policy import default
    msg = email.message_from_string(text, policy=default)
    parts = [str(msg.get("To", "")), str(msg.get("Subject", ""))]
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            parts.append(part.get_content())
    return "\n".join(parts)


@dataclass
class RedisStore:
    """Redis (the job queue): ids only; searched to prove it."""
    client_factory: Callable[[], Any] | None
    name: str = "redis"
    limit: int = 50_000  # keys read at most (the bot's own keys are few; a shared Redis is not scanned whole)

    def forget(self, subject: ErasedSubject) -> StoreProof:
        if self.client_factory is None:
            return StoreProof("redis", True, {"configured": False})
        client, hits, read = self.client_factory(), 0, 0
        for key in client.scan_iter(count=500):
            read += 1
            if read > self.limit:
                break
            if matching(repr(key) + repr(_value(client, key)), subject.identifiers):
                hits += 1
        return StoreProof("redis", hits == 0, {"keys_read": min(read, self.limit), "hits": hits})


def _value(client: Any, key: bytes) -> object:
    kind = client.type(key)
    kind = kind.decode() if isinstance(kind, bytes) else kind
    read = {"string": client.get, "list": lambda k: client.lrange(k, 0, -1), "hash": client.hgetall,
            "set": client.smembers, "zset": lambda k: client.zrange(k, 0, -1)}.get(kind)
    return read(key) if read else b""


@dataclass
class SlackMessages:
    """Slack: the cards and threads of the subject's requests and grants. Erasure renders each again from
    the current state, where the subject now shows as erased (no number, nothing masked); an update Slack
    did not take is owed (and delivered by the catch-up), and the store is not clean until it is."""
    requests_of: Callable[[str], list[Any]]  # subject ref -> its requests (m.SubjectRequest)
    grants_of: Callable[[str], list[Any]]  # subject ref -> its access grants (m.AccessGrant)
    request_changed: Callable[[Any], None]  # RequestPresenter.request_changed
    grant_changed: Callable[[Any], None]  # GrantPresenter.grant_changed
    owed: Callable[[], list[tuple[str, str]]]  # ShownMessages.owed: (ref, role) of undelivered updates
    notices_changed: Callable[[Any], None] | None = None  # RequestPresenter.notices_changed: a thread's recipients
    name: str = "slack"

    def forget(self, subject: ErasedSubject) -> StoreProof:
        refs, done = set(), 0
        for req in self.requests_of(subject.ref):
            refs.add(f"R-{req.id}")
            if req.id != subject.request_id:  # the erasure's own card is rendered when it ends
                self.request_changed(req)
                if self.notices_changed is not None:  # its recipients' message too (one left owed by a race)
                    self.notices_changed(req)
                done += 1
        for grant in self.grants_of(subject.ref):
            refs.add(f"G-{grant.id}")
            self.grant_changed(grant)
            done += 1
        owed = [r for r, _ in self.owed() if r in refs and r != f"R-{subject.request_id}"]
        return StoreProof("slack", not owed, {"messages_rendered_again": done, "owed": len(owed)})


@dataclass
class DatabaseSearch:
    """The bot's own state database, searched for the former identifiers like the platform's (the same
    search); where both are one database, the platform's search already read every table."""
    search: Callable[[ErasedSubject], list[str]] | None  # hits as "table.column:rows"; None: same database
    name: str = "state"

    def forget(self, subject: ErasedSubject) -> StoreProof:
        if self.search is None:
            return StoreProof("state", True, {"same_database_as_platform": True})
        hits = self.search(subject)
        return StoreProof("state", not hits, {"hits": hits})


@dataclass
class Corrections:
    """The values rectifications wrote for the subject, kept sealed in the ledger for replay: gone with it."""
    # (subject type, key) -> (ledger entries emptied, sealed values still held) (ledger.forget_corrections)
    forget_values: Callable[[str, str], tuple[int, int]]
    name: str = "corrections"

    def forget(self, subject: ErasedSubject) -> StoreProof:
        forgotten, left = self.forget_values(subject.kind, subject.key)
        return StoreProof("corrections", not left, {"forgotten": forgotten, "left": left})


@dataclass
class ExportArchives:
    """EXPORT_DIR and the object store (EXPORT_STORE, every version): the subject's archives and work
    folders are deleted (and withdrawn from Slack); the proof counts what is left of them."""
    remove: Callable[[str], int]  # subject ref -> archives and files removed
    left: Callable[[str], int]  # subject ref -> files or stored objects of its requests still there
    kind: str  # local | s3
    name: str = "exports"

    def forget(self, subject: ErasedSubject) -> StoreProof:
        removed = self.remove(subject.ref)
        left = self.left(subject.ref)
        return StoreProof("files", left == 0, {"exports_deleted": removed, "left": left, "object_store": self.kind})


@dataclass
class BulkForget:
    """A bulk run's erased subjects (a retention policy, an offboarding): the stores reached by the subject's
    pseudonym alone - its requests' export archives and Slack messages - are forgotten after each batch.
    (What needs the former identifiers - a search, mail naming them - is the single erasure's.)"""
    pseudonym: Callable[[str, str], str]
    with_requests: Callable[[list[str]], set[str]]  # RequestService.refs_with_requests
    stores: list[SubjectStore]  # ExportArchives and SlackMessages: they read nothing but the pseudonym

    def __call__(self, subjects: list[tuple[str, str]]) -> int:
        refs = {self.pseudonym(kind, key): (kind, key) for kind, key in subjects}
        touched = self.with_requests(sorted(refs))
        for ref in sorted(touched):
            kind, key = refs[ref]
            forget_everywhere(self.stores, ErasedSubject(kind, key, ref, Identifiers()))
        return len(touched)

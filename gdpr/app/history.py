"""`/gdpr audit <identity>`: one subject's history - what the bot did (the audit chain, by the subject's
keyed pseudonym) and what the platform recorded (its change log: CREATE, EDIT, VIEW) - newest first, a
page at a time, the subject masked per viewer. Reading it is itself audited; an unmasked look at the
subject is a VIEW in their change history like any other."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import DateTime, Engine, column, func, select, table

from gdpr.app.reads import PER_PAGE, AuditedRead, Page, page_bounds
from gdpr.core import models as m
from gdpr.core.access import Actor
from gdpr.core.authz import Authorizer
from gdpr.core.datamap import DataMap
from gdpr.core.db import Database
from gdpr.core.errors import SubjectNotFound
from gdpr.core.subjects import SubjectDirectory, parse_identity
from gdpr.requests.service import RequestService, aware


@dataclass(frozen=True)
class HistoryLine:
    at: dt.datetime
    source: str  # "bot" (the audit chain) | "platform" (its change log)
    what: str  # an action name, never personal data
    who: str
    ref: str = ""  # R-12, G-3, ... when the bot's event belongs to one


@dataclass(frozen=True)
class History:
    subject_type: str
    key: str
    subject: dict[str, str]  # as this viewer may see it
    unmasked_by: str | None
    page: Page[HistoryLine]
    until: dt.datetime  # the pages of one reading end here: reading adds to the history, pages must not shift


@dataclass
class SubjectHistory:
    authz: Authorizer
    directory: SubjectDirectory
    requests: RequestService
    reads: AuditedRead
    state: Database
    system: Engine
    datamap: DataMap

    def find(self, *, actor: Actor, identity: str, subject_type: str, club_code: str | None) -> History:
        self.authz.require(actor, "audit.read")
        subject = self.directory.resolve(parse_identity(identity, self.directory.patterns()), kind=subject_type,
                                         club_code=club_code)
        return self.history(actor=actor, subject_type=subject.kind, key=subject.key)

    def history(self, *, actor: Actor, subject_type: str, key: str, offset: int = 0, limit: int = PER_PAGE,
                until: dt.datetime | None = None) -> History:
        """A page of the history as it stood at `until` (the first page's moment; default now)."""
        self.authz.require(actor, "audit.read")
        until = until or dt.datetime.now(dt.UTC)
        subject = self.directory.load(subject_type, key)
        if subject is None:
            raise SubjectNotFound("That subject is no longer in the system.")
        offset, limit = page_bounds(offset, limit)
        ref = self.requests.pseudonym(subject_type, key)
        by = self.authz.unmasked_by(actor, ref)
        self.reads.record(actor, "audit.read", view="subject history", subject_ref=ref, offset=offset,
                          **({"unmasked_by": by} if by else {}))
        if by:
            self.directory.record_views([subject], viewer=actor.user_id)
        bot, bot_total = self._bot(self.requests.pseudonyms(subject_type, key), offset + limit, until)
        platform, platform_total = self._platform(subject_type, key, offset + limit, until)
        merged = sorted(bot + platform, key=lambda line: line.at, reverse=True)[offset:offset + limit]
        return History(subject_type, key, subject.plain() if by else subject.masked(), by,
                       Page(merged, offset, bot_total + platform_total), until)

    def _bot(self, refs: list[str], newest: int, until: dt.datetime) -> tuple[list[HistoryLine], int]:
        e = m.AuditEvent
        mine = e.subject_ref.in_(refs) & (e.at <= until.astimezone(dt.UTC).isoformat(timespec="microseconds"))
        with self.state.session() as s:
            total = s.execute(select(func.count()).select_from(e).where(mine)).scalar_one()
            rows = s.execute(select(e.at, e.action, e.actor, e.request_id).where(mine)
                             .order_by(e.seq.desc()).limit(newest)).all()
        return [HistoryLine(aware(dt.datetime.fromisoformat(at)), "bot", action, actor,  # type: ignore[arg-type]
                            f"R-{request_id}" if request_id else "") for at, action, actor, request_id in rows], total

    def _platform(self, subject_type: str, key: str, newest: int, until: dt.datetime) -> tuple[list[HistoryLine], int]:
        log = self.datamap.subject(subject_type).view_log
        if log is None:
            return [], 0
        tbl = table(log["table"], column(log["link"]), column(log["at"], DateTime), column(log["action"]),
                    column(log["actor"]))
        # the platform writes its own times (naive: UTC); the VIEW of this reading is written after `until`
        mine = (tbl.c[log["link"]] == (int(key) if key.isdigit() else key)) & \
            (tbl.c[log["at"]] <= until.astimezone(dt.UTC).replace(tzinfo=None))
        with self.system.connect() as conn:
            total = conn.execute(select(func.count()).select_from(tbl).where(mine)).scalar_one()
            rows = conn.execute(select(tbl.c[log["at"]], tbl.c[log["action"]], tbl.c[log["actor"]]).where(mine)
                                .order_by(tbl.c[log["at"]].desc()).limit(newest)).all()
        return [HistoryLine(aware(at), "platform", str(action), str(actor)) for at, action, actor in rows], total  # type: ignore[arg-type]

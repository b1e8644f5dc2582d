"""Breach mail: the notice to each club (Art. 33(3)(a)-(d)), and plain-language notices to members (Art. 34)
sent in batches with progress. Addresses are read from the system database when sending, never stored."""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Engine, column, false, func, select, table
from sqlalchemy.sql.expression import ColumnClause

from gdpr.breaches.config import BreachConfig
from gdpr.breaches.service import REF, BreachService
from gdpr.breaches.targets import MemberTarget, dated_tables, resolve_numbers, target_condition
from gdpr.core import models as m
from gdpr.core.datamap import DataMap, SubjectSpec
from gdpr.core.mail import Mailer, MailError, build_message
from gdpr.core.templating import Templates
from gdpr.lifecycle.outbox import MAX_BACKOFF, backoff

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Club:
    key: str
    code: str
    name: str
    contact_name: str | None
    contact_email: str | None


class BreachMail:
    def __init__(self, breaches: BreachService, engine: Engine, datamap: DataMap, templates: Templates,
                 mailer: Mailer, config: BreachConfig, backoff_s: float = 30.0) -> None:
        self.breaches, self._engine, self._map, self._templates = breaches, engine, datamap, templates
        self.mailer, self.config, self._backoff_s = mailer, config, backoff_s
        self._dated: dict[str, str] | None = None

    def clubs(self, keys: list[str] | None = None) -> list[Club]:
        ctl = self._map.controllers
        query = select(*[column(c) for c in (ctl.key, ctl.code, ctl.name, ctl.contact_name, ctl.contact_email)]) \
            .select_from(table(ctl.table)).order_by(column(ctl.code))
        with self._engine.connect() as conn:
            rows = [Club(str(r[0]), r[1], r[2], r[3], r[4]) for r in conn.execute(query)]
        return [c for c in rows if keys is None or c.key in keys]

    def contacts(self, keys: list[str]) -> dict[str, str | None]:
        return {c.key: c.contact_email for c in self.clubs(keys)}

    # -- to the clubs ---------------------------------------------------------------------------
    def deliver(self, notice_id: int) -> tuple[str, dt.timedelta | None]:
        """Send one club notice; on failure it waits in the outbox with a growing backoff. Returns
        what happened and, when it is to be tried again, after how long."""
        notice = self.breaches.claim_notice(notice_id)
        if notice is None:
            return "skipped", None
        breach = self.breaches.get(notice.breach_id)
        club = next(iter(self.clubs([notice.club_id])), None)
        if club is None or not club.contact_email:
            self.breaches.notice_failed(notice, "no GDPR contact", MAX_BACKOFF)
            return "no contact", MAX_BACKOFF
        body, subject = self._templates.render(  # in the club's language (config/clubs.yaml)
            "breach_club_notice.txt.j2", self._templates.language(club.code), breach=breach, notice=notice,
            club=club, ref=f"{REF}{breach.id}", processor=self._map.processor, kinds=breach.kinds,
            subject_categories=breach.subject_categories)
        msg = build_message(sender=self.config.sender, to=club.contact_email, subject=subject or REF, body=body,
                            idempotency_key=f"breach-{breach.id}-club-{club.key}-phase-{notice.phase}")
        try:
            self.mailer.send(msg)
        except MailError as exc:
            delay = backoff(notice.attempts, self._backoff_s)
            self.breaches.notice_failed(notice, str(exc), delay)
            log.warning("B-%s notice %s not sent: %s", breach.id, notice.id, exc)
            return "retrying", delay
        self.breaches.notice_sent(notice, message_id=msg["Message-ID"])
        return "sent", None

    # -- to the members --------------------------------------------------------------------------
    def _members(self, breach: m.Breach) -> tuple[SubjectSpec, str, list[ColumnClause], ColumnElement]:
        """The members the DPO named, in the clubs that instructed us to tell them (never a whole club)."""
        spec = self._map.subject("member")
        email = spec.display["email"][0]
        names = [column(c) for c in spec.display.get("name", ())]
        instructed = [int(c) if c.isdigit() else c for c in breach.members_instructed or []]
        if not instructed or not breach.members_target:
            return spec, email, names, false()
        named = target_condition(self._map, MemberTarget.from_json(breach.members_target))
        cond = column(spec.club).in_(instructed) & column(email).isnot(None) & named
        return spec, email, names, cond

    def resolve(self, target: MemberTarget) -> MemberTarget:
        """Member numbers as pasted -> the members' keys, which is what the register keeps."""
        return resolve_numbers(self._engine, self._map, target)

    def dated_tables(self) -> dict[str, str]:
        """Tables an Art. 34 query can name. Reflected once: it is read on the 3-second ack path."""
        if self._dated is None:
            self._dated = dated_tables(self._map, self._engine)
        return self._dated

    def count_members(self, breach: m.Breach) -> int:
        spec, _, _, cond = self._members(breach)
        with self._engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table(spec.table)).where(cond)).scalar_one()

    def tell_members(self, breach_id: int, progress: Callable[[m.Breach], None]) -> int:
        """Batches of members of the affected clubs; each notice recorded once sent, so a retried
        job continues where it stopped. Returns how many were sent by this call."""
        breach = self.breaches.get(breach_id)
        if breach.members_decision != "notify" or breach.members_status == "done":
            return 0
        spec, email, names, cond = self._members(breach)
        self.breaches.members_progress(breach_id=breach_id, total=self.count_members(breach), status="running")
        clubs = {c.key: c for c in self.clubs(breach.clubs)}
        sent, last = 0, breach.members_last_key
        key = column(spec.key)
        while True:
            query = select(key, column(spec.club), column(email), *names).select_from(table(spec.table)).where(cond)
            if last is not None:
                query = query.where(key > int(last))
            with self._engine.connect() as conn:
                rows = conn.execute(query.order_by(key).limit(self.config.member_batch_size)).all()
            if not rows:
                break
            done_keys = self._already_told(breach_id, [str(r[0]) for r in rows])
            for row in rows:
                if str(row[0]) in done_keys:
                    continue
                club = clubs[str(row[1])]
                name = " ".join(str(v) for v in row[3:] if v) or None  # the template says "member" in its language
                body, subject = self._templates.render("breach_member_notice.txt.j2", self._templates.language(club.code),
                                                       breach=breach, club=club, name=name, ref=f"{REF}{breach.id}")
                self.mailer.send(build_message(sender=self.config.sender, to=row[2], body=body, subject=subject or REF,
                                               idempotency_key=f"breach-{breach.id}-member-{row[0]}"))
                self._told(breach_id, str(row[0]))
                sent += 1
            last = str(rows[-1][0])
            self.breaches.members_progress(breach_id=breach_id, done=self._count_told(breach_id), last_key=last)
            progress(self.breaches.get(breach_id))
        self.breaches.members_progress(breach_id=breach_id, done=self._count_told(breach_id), status="done")
        progress(self.breaches.get(breach_id))
        return sent

    def _already_told(self, breach_id: int, keys: list[str]) -> set[str]:
        n = m.BreachMemberNotice
        with self.breaches.db.session() as s:
            return set(s.execute(select(n.member_key).where(n.breach_id == breach_id, n.member_key.in_(keys))).scalars())

    def _told(self, breach_id: int, key: str) -> None:
        with self.breaches.db.session() as s:
            s.add(m.BreachMemberNotice(breach_id=breach_id, member_key=key, sent_at=self.breaches.clock()))

    def _count_told(self, breach_id: int) -> int:
        with self.breaches.db.session() as s:
            return s.execute(select(func.count()).select_from(m.BreachMemberNotice)
                             .where(m.BreachMemberNotice.breach_id == breach_id)).scalar_one()

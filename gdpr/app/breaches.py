"""Use cases of a personal-data breach: report, notify the clubs (Art. 33), assess the risk and decide
on telling members (Art. 34), update, close; the clock's reminders; the notice jobs; audited reads of
the register. Permissions are the Authorizer's; the alert and its thread are the presenter's."""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from gdpr.app.reads import PER_PAGE, AuditedRead, Page, page_bounds
from gdpr.breaches.breach_file import build_file
from gdpr.breaches.mail import BreachMail, Club
from gdpr.breaches.register_file import build_register
from gdpr.breaches.service import REF, BreachFacts, BreachService
from gdpr.breaches.targets import MemberTarget, read_target
from gdpr.core import models as m
from gdpr.core.access import Actor
from gdpr.core.authz import Authorizer
from gdpr.core.crypto import new_passphrase
from gdpr.core.datamap import DataMap
from gdpr.core.keyring import KeyRing
from gdpr.core.ports import BreachPresenter, JobQueue
from gdpr.lifecycle.outbox import SENT
from gdpr.requests.jobs import resend

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RegisterFile:
    """An encrypted file of the register (every breach) or of one breach, for the supervisory authority."""
    path: Path
    breaches: int
    passphrase: str  # for the requester's direct message only: never stored, logged or queued
    title: str = "breach register"


@dataclass(frozen=True)
class AlertView:
    """What a breach's alert shows, read at one moment: the view model the presenter renders."""

    breach: m.Breach
    notices: list[m.BreachNotice]
    clubs: list[Club]
    deadline: dt.datetime
    now: dt.datetime

    @property
    def unnotified(self) -> list[str]:
        """The codes of the clubs concerned that have not been sent a notice yet."""
        codes = {c.key: c.code for c in self.clubs}
        sent = {n.club_id for n in self.notices if n.status == "sent"}
        return [codes.get(k, k) for k in self.breach.clubs if k not in sent]


@dataclass(frozen=True)
class BreachViews:
    """The breach presenter's reads (no decision, no audit event): what an alert and its thread show."""

    breaches: BreachService
    mail: BreachMail

    def now(self) -> dt.datetime:
        return self.breaches.clock()

    def alert(self, breach: m.Breach | int, now: dt.datetime | None = None) -> AlertView:
        """The alert's view model, from the register as it is now (pass an id to read the breach again)."""
        breach = self.breaches.get(breach) if isinstance(breach, int) else breach
        return AlertView(breach, self.breaches.notices(breach.id), self.mail.clubs(breach.clubs),
                         self.breaches.deadline(breach), now or self.breaches.clock())

    def clubs(self, breach: m.Breach) -> list[Club]:
        return self.mail.clubs(breach.clubs)


@dataclass
class BreachDesk:
    authz: Authorizer
    breaches: BreachService
    mail: BreachMail
    datamap: DataMap
    reads: AuditedRead
    export_dir: Path
    presenter: BreachPresenter
    queue: JobQueue
    ring: KeyRing  # signs the breach file for the authority

    # -- forms ------------------------------------------------------------------------------------
    def report_form(self, *, actor: Actor) -> list[Club]:
        """The clubs a reporter chooses from (their codes and names: the controllers' public handles)."""
        self.authz.require(actor, "breach.report")
        return self.mail.clubs()

    def managed(self, *, actor: Actor, breach_id: int) -> m.Breach:
        """A breach the actor may manage (the DPO), for a form about it; refusals audited."""
        self.authz.require(actor, "breach.manage", refusal="Only the DPO may manage a breach.", breach=breach_id)
        return self.breaches.get(breach_id)

    def members_form(self, *, actor: Actor, breach_id: int) -> tuple[m.Breach, list[Club], list[str]]:
        """For the risk form: the breach, its clubs (which may instruct telling members), the dated tables."""
        breach = self.managed(actor=actor, breach_id=breach_id)
        return breach, self.mail.clubs(breach.clubs), sorted(self.mail.dated_tables())

    def needs_delay_reason(self, breach: m.Breach) -> bool:
        return self.breaches.is_late(breach) and not breach.delay_reason

    def member_target(self, *, numbers_text: str, table_name: str | None, since: str | None,
                      until: str | None) -> MemberTarget:
        """The DPO's Art. 34 naming, validated (UsageError says what is wrong)."""
        return read_target(numbers_text=numbers_text, table_name=table_name, since=since, until=until,
                           pattern=self.datamap.subject("member").number_pattern, tables=self.mail.dated_tables())

    # -- decisions ------------------------------------------------------------------------------------
    def report(self, *, actor: Actor, facts: BreachFacts) -> int:
        self.authz.require(actor, "breach.report")
        breach = self.breaches.report(actor=actor, facts=facts)
        channel = self.presenter.post_alert(breach)
        if channel is not None:  # a channel of its own for the response (config/breaches.yaml)
            self.breaches.record(breach.id, "gdpr-bot", "channel", f"Response channel <#{channel}> opened.")
        self.breaches.record(breach.id, "gdpr-bot", "alerted", "Alert posted, with the 72-hour clock.")
        return breach.id

    def notify(self, *, actor: Actor, breach_id: int, late_reason: str | None = None,
               new_phase: bool = False) -> list[int]:
        """The notices of this phase to every affected club, through the outbox."""
        breach = self.managed(actor=actor, breach_id=breach_id)
        ids = self.breaches.notify_clubs(breach_id=breach_id, actor=actor, late_reason=late_reason,
                                         new_phase=new_phase, contacts=self.mail.contacts(breach.clubs))
        resend(ids, self.queue.breach_notice, label="breach notice ")  # refused: the reconciler sends it
        self.presenter.refresh(self.breaches.get(breach_id))
        return ids

    def update(self, *, actor: Actor, breach_id: int, changes: dict[str, object], late_reason: str | None) -> None:
        """New facts: recorded, and a follow-up phase of notices to the clubs."""
        self.managed(actor=actor, breach_id=breach_id)
        self.breaches.update_facts(breach_id=breach_id, actor=actor, changes=changes)
        self.notify(actor=actor, breach_id=breach_id, late_reason=late_reason, new_phase=True)

    def assess(self, *, actor: Actor, breach_id: int, risk: str, reasoning: str, members: str | None = None,
               target: MemberTarget | None = None, instructed: list[str] | None = None) -> None:
        """The risk to people; when high, whether members are told (previewed first: the DPO sends)."""
        self.managed(actor=actor, breach_id=breach_id)
        breach = self.breaches.assess(breach_id=breach_id, actor=actor, risk=risk, reasoning=reasoning)
        if risk == "high" and members:
            if target is not None:  # numbers identify people: the register keeps the members' keys
                target = self.mail.resolve(target)
            breach = self.breaches.decide_members(breach_id=breach_id, actor=actor, notify=members == "notify",
                                                  reasoning=reasoning, target=target, instructed=instructed,
                                                  uninstructed=members == "uninstructed")
            if breach.members_status == "previewed":
                self.presenter.members_preview(breach, self.mail.count_members(breach))
        self.presenter.refresh(breach)

    def send_members(self, *, actor: Actor, breach_id: int) -> None:
        """Send pressed on the preview: the member notices are queued once (a second press is told so)."""
        breach = self.managed(actor=actor, breach_id=breach_id)
        breach = self.breaches.send_members(breach_id=breach_id, actor=actor, count=self.mail.count_members(breach))
        resend([breach_id], self.queue.member_notices, label="member notices B-")  # refused: the reconciler
        self.presenter.refresh(breach)

    def close(self, *, actor: Actor, breach_id: int, remedial: str, reasoning: str) -> None:
        self.managed(actor=actor, breach_id=breach_id)
        breach = self.breaches.close(breach_id=breach_id, actor=actor, remedial=remedial, reasoning=reasoning)
        told = len({n.club_id for n in self.breaches.notices(breach_id) if n.status == SENT})
        self.presenter.refresh(breach)
        self.presenter.closed(breach, by=actor.user_id, clubs_told=told, remedial=remedial, reasoning=reasoning)

    def snooze(self, *, actor: Actor, reminder_id: int) -> None:
        reminder = self.breaches.reminder(reminder_id)
        self.managed(actor=actor, breach_id=reminder.breach_id)
        self.breaches.snooze(reminder_id=reminder_id, actor=actor)
        self.presenter.refresh(self.breaches.get(reminder.breach_id))

    # -- the clock and the jobs -------------------------------------------------------------------------
    def fire_reminders(self, now: dt.datetime) -> int:
        """Keep every open breach's countdown current; post every due reminder, then mark it fired: one
        that cannot be shown stays due (it never lapses)."""
        fired = 0
        for breach in self.breaches.open_breaches():
            self.presenter.refresh(breach, now)
        for reminder in self.breaches.due_reminders(now):
            breach = self.breaches.get(reminder.breach_id)
            try:
                shown = self.presenter.reminder(breach, reminder, now)
            except Exception as exc:  # Slack unreachable: the next tick tries again
                log.warning("reminder for B-%s not posted: %s", breach.id, type(exc).__name__)
                continue
            if shown:  # no alert to reply to yet (it is still being posted): due on the next tick
                fired += self.breaches.fire(reminder, now)
        return fired

    def deliver_notice(self, notice_id: int) -> str:
        """One club notice from the outbox; a failure comes back after its backoff."""
        status, delay = self.mail.deliver(notice_id)
        if delay is not None:
            self.queue.breach_notice(notice_id, int(delay.total_seconds() * 1000))
        if status != "skipped":
            self.presenter.refresh(self.breaches.get(self.breaches.breach_of_notice(notice_id)))
        return status

    def tell_members(self, breach_id: int) -> int:
        """The member notices, in batches with progress; a retried job continues after those told."""
        return self.mail.tell_members(breach_id, self.presenter.members_progress)

    # -- audited reads ------------------------------------------------------------------------------------
    def register(self, *, actor: Actor, offset: int = 0, limit: int = PER_PAGE) -> Page[tuple[m.Breach, dt.datetime]]:
        """A page of the register, newest first, each breach with its deadline."""
        self.authz.require(actor, "breach.read")
        offset, limit = page_bounds(offset, limit)
        self.reads.record(actor, "breach.read", view="breach list", offset=offset)
        rows, total = self.breaches.newest(offset=offset, limit=limit)
        return Page([(b, self.breaches.deadline(b)) for b in rows], offset, total)

    def show(self, *, actor: Actor, breach_id: int, offset: int = 0,
             limit: int = PER_PAGE) -> tuple[m.Breach, Page[m.BreachEvent]]:
        """One breach and a page of its timeline, newest step first."""
        self.authz.require(actor, "breach.read")
        breach = self.breaches.get(breach_id)
        offset, limit = page_bounds(offset, limit)
        self.reads.record(actor, "breach.read", view="breach show", breach=breach_id, offset=offset)
        events, total = self.breaches.latest_events(breach.id, offset=offset, limit=limit)
        return breach, Page(events, offset, total)

    def now(self) -> dt.datetime:
        """The register's clock (what a form checks "in the future" against, what a page's ages count from)."""
        return self.breaches.clock()

    def alert(self, breach: m.Breach) -> AlertView:
        """The alert's view model for a breach already read through `show` (authorised and audited there)."""
        return BreachViews(self.breaches, self.mail).alert(breach)

    def register_file(self, *, actor: Actor) -> RegisterFile:
        """The whole register as an AES-256 zip, for the supervisory authority (Art. 33(5))."""
        self.authz.require(actor, "breach.read")
        passphrase = new_passphrase()
        path, count = build_register(self.breaches, self.export_dir, passphrase)
        self.reads.record(actor, "breach.read", view="breach register", breaches=count)
        return RegisterFile(path, count, passphrase)

    def breach_file(self, *, actor: Actor, breach_id: int) -> RegisterFile:
        """One breach's file for the supervisory authority (Art. 33(5)): the register entry, the timeline, every
        notice sent with its Message-ID, the clubs' instructions and the decisions with their reasons, signed
        (Ed25519, `breach-file`) in an AES-256 zip. The DPO's, who answers to the authority."""
        self.authz.require(actor, "breach.manage", refusal="Only the DPO may produce a breach's file for the authority.",
                           breach=breach_id)
        self.breaches.get(breach_id)  # no such breach: said before anything is written
        passphrase = new_passphrase()
        path = build_file(self.breaches, self.ring, breach_id,
                          lambda keys: {c.key: (c.code, c.name) for c in self.mail.clubs(keys)},
                          self.export_dir, passphrase)
        self.reads.record(actor, "breach.read", view="breach file", breach=breach_id)
        return RegisterFile(path, 1, passphrase, title=f"breach file {REF}{breach_id}")

"""The breach register (Art. 33(5)): report, timeline, the 72-hour clock and its reminders, notices to
clubs in phases, the members decision (Art. 34) and close-out. Every step is on the breach's timeline
and in the audit chain (by breach number: the register holds the facts, the audit log the steps)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gdpr.breaches.config import BreachConfig
from gdpr.breaches.targets import MemberTarget
from gdpr.core import models as m
from gdpr.core.access import Actor
from gdpr.core.audit import AuditLog
from gdpr.core.db import Database, changed
from gdpr.core.errors import BreachNotFound, GdprError, UsageError
from gdpr.lifecycle import reminders
from gdpr.lifecycle.outbox import PENDING as NOTICE_PENDING
from gdpr.lifecycle.outbox import SEND_LEASE_FLOOR, Outbox
from gdpr.lifecycle.outbox import SENT as NOTICE_SENT

NOTICE_NO_CONTACT = "no_contact"  # a club without a GDPR contact: nothing to send until one is recorded
REF = "B-"


@dataclass(frozen=True)
class BreachFacts:
    description: str
    detected_at: dt.datetime
    aware_at: dt.datetime
    kinds: list[str]
    data_categories: list[str]
    subject_categories: list[str]
    approx_people: int
    approx_records: int
    clubs: list[str]
    consequences: str
    measures: str
    contact: str


def parse_ref(text: str) -> int:
    value = text.strip().upper()
    number = value[2:] if value.startswith(REF) else value
    if not number.isdigit():
        raise UsageError(f"`{text[:20]}` is not a breach number: write it like `B-12`.")
    return int(number)


NOT_TOLD = {False: "Members not told, the controller's exemption (Art. 34(3)): ",
            True: "Members not told: no affected club instructed the processor to tell them (Art. 28(3)(a)): "}


class BreachService:
    def __init__(self, db: Database, audit: AuditLog, config: BreachConfig,
                 clock: Callable[[], dt.datetime], *, sending_for: dt.timedelta = SEND_LEASE_FLOOR) -> None:
        self.db, self.audit, self.config, self.clock = db, audit, config, clock
        self.outbox = Outbox(db, clock, sending_for=sending_for)

    # -- reading ---------------------------------------------------------------------------------
    def get(self, breach_id: int) -> m.Breach:
        return self.db.load(m.Breach, breach_id, BreachNotFound(f"There is no breach {REF}{breach_id}."))

    def all(self) -> list[m.Breach]:
        with self.db.session() as s:
            rows = list(s.execute(select(m.Breach).order_by(m.Breach.id)).scalars())
            s.expunge_all()
            return rows

    def newest(self, *, offset: int, limit: int) -> tuple[list[m.Breach], int]:
        """A window of the register, newest first, and how many breaches there are."""
        with self.db.session() as s:
            total = s.execute(select(func.count()).select_from(m.Breach)).scalar_one()
            rows = list(s.execute(select(m.Breach).order_by(m.Breach.id.desc()).offset(offset).limit(limit)).scalars())
            s.expunge_all()
            return rows, total

    def latest_events(self, breach_id: int, *, offset: int, limit: int) -> tuple[list[m.BreachEvent], int]:
        """A window of a breach's timeline, newest first, and how many steps it has."""
        e = m.BreachEvent
        with self.db.session() as s:
            total = s.execute(select(func.count()).select_from(e).where(e.breach_id == breach_id)).scalar_one()
            rows = list(s.execute(select(e).where(e.breach_id == breach_id).order_by(e.id.desc())
                                  .offset(offset).limit(limit)).scalars())
            s.expunge_all()
            return rows, total

    def members_stalled(self, *, quiet_for: dt.timedelta) -> list[int]:
        """Member-notice jobs queued or running that have shown no progress for a while (lost, or their
        enqueue failed): the reconciler sends them again; they continue after the members already told."""
        b = m.Breach
        with self.db.session() as s:
            return list(s.execute(select(b.id).where(b.members_decision == "notify",
                                                     b.members_status.in_(["queued", "running"]),
                                                     b.members_updated_at < self.clock() - quiet_for)).scalars())

    def open_breaches(self) -> list[m.Breach]:
        with self.db.session() as s:
            rows = list(s.execute(select(m.Breach).where(m.Breach.status == m.BREACH_OPEN)).scalars())
            s.expunge_all()
            return rows

    def events(self, breach_id: int) -> list[m.BreachEvent]:
        with self.db.session() as s:
            rows = list(s.execute(select(m.BreachEvent).where(m.BreachEvent.breach_id == breach_id)
                                  .order_by(m.BreachEvent.id)).scalars())
            s.expunge_all()
            return rows

    def notices(self, breach_id: int) -> list[m.BreachNotice]:
        with self.db.session() as s:
            rows = list(s.execute(select(m.BreachNotice).where(m.BreachNotice.breach_id == breach_id)
                                  .order_by(m.BreachNotice.phase, m.BreachNotice.club_id)).scalars())
            s.expunge_all()
            return rows

    def breach_of_notice(self, notice_id: int) -> int:
        with self.db.session() as s:
            return s.get_one(m.BreachNotice, notice_id).breach_id

    def deadline(self, breach: m.Breach) -> dt.datetime:
        return _aware(breach.aware_at) + dt.timedelta(hours=self.config.deadline_hours)

    def is_late(self, breach: m.Breach, now: dt.datetime | None = None) -> bool:
        """Past the point where telling the clubs is no longer 'without undue delay' (needs reasons)."""
        return (now or self.clock()) > _aware(breach.aware_at) + dt.timedelta(hours=self.config.late_after_hours)

    # -- report ----------------------------------------------------------------------------------
    def report(self, *, actor: Actor, facts: BreachFacts) -> m.Breach:
        now = self.clock()
        with self.db.session() as s:
            breach = m.Breach(status=m.BREACH_OPEN, reported_by=actor.user_id, reported_at=now, risk="unassessed",
                              phase=0, members_total=0, members_done=0, **facts.__dict__)
            s.add(breach)
            s.flush()
            for hours in self.config.reminders:
                s.add(m.BreachReminder(breach_id=breach.id, mark_hours=hours, status="pending", times_fired=0,
                                       due_at=_aware(facts.aware_at) + dt.timedelta(hours=hours)))
            self._event(s, breach.id, actor.user_id, "reported",
                        f"Reported: {', '.join(facts.kinds)} breach, about {facts.approx_people} people and "
                        f"{facts.approx_records} records, {len(facts.clubs)} club(s).")
            s.expunge(breach)
        return breach

    def record(self, breach_id: int, actor: str, kind: str, text: str) -> None:
        with self.db.session() as s:
            self._event(s, breach_id, actor, kind, text)

    # -- notices to clubs --------------------------------------------------------------------------
    def notify_clubs(self, *, breach_id: int, actor: Actor, contacts: dict[str, str | None],
                     late_reason: str | None = None, new_phase: bool = False) -> list[int]:
        """Create the notices of this phase, one per club (a second click finds them and adds none).
        Returns the ids of notices to send. `new_phase` starts a follow-up phase (the facts changed)."""
        breach = self.get(breach_id)
        if breach.status == m.BREACH_CLOSED:
            raise GdprError(f"{REF}{breach_id} is closed.")
        if self.is_late(breach) and not (late_reason or breach.delay_reason):
            raise LateNotice(f"{REF}{breach_id}: notices now are late; the reasons for the delay are required.")
        phase = breach.phase + 1 if new_phase or breach.phase == 0 else breach.phase
        created = []
        with self.db.session() as s:
            for club in breach.clubs:
                status = NOTICE_PENDING if contacts.get(club) else NOTICE_NO_CONTACT
                try:
                    with s.begin_nested():
                        notice = m.BreachNotice(breach_id=breach_id, club_id=club, phase=phase, status=status,
                                                attempts=0, next_attempt_at=self.clock(), late_reason=late_reason or breach.delay_reason)
                        s.add(notice)
                        s.flush()
                    if status == NOTICE_PENDING:
                        created.append(notice.id)
                except IntegrityError:
                    continue  # this club already has its notice of this phase
            values: dict[str, object] = {"phase": phase}
            if late_reason:
                values["delay_reason"] = late_reason
            s.execute(update(m.Breach).where(m.Breach.id == breach_id).values(**values))
            if created:
                self._event(s, breach_id, actor.user_id, "notify",
                            f"Notices of phase {phase} queued for {len(created)} club(s).")
        return created

    def claim_notice(self, notice_id: int) -> m.BreachNotice | None:
        return self.outbox.claim(m.BreachNotice, notice_id)

    def notice_sent(self, notice: m.BreachNotice, message_id: str | None = None) -> None:
        with self.db.session() as s:
            if not self.outbox.sent(s, m.BreachNotice, notice.id, sent_at=self.clock(), message_id=message_id):
                return
            self._event(s, notice.breach_id, "gdpr-bot", "notice_sent",
                        f"Notice (phase {notice.phase}) sent to club {notice.club_id}.")
            unsent = s.execute(select(m.BreachNotice.id).where(
                m.BreachNotice.breach_id == notice.breach_id,
                m.BreachNotice.status.notin_([NOTICE_SENT]))).first()
            if unsent is None:  # every club told: the escalation has done its job
                s.execute(update(m.BreachReminder).where(m.BreachReminder.breach_id == notice.breach_id,
                                                         m.BreachReminder.status == "pending")
                          .values(status="settled"))

    def notice_failed(self, notice: m.BreachNotice, error: str, delay: dt.timedelta) -> None:
        with self.db.session() as s:
            if self.outbox.retry_later(s, m.BreachNotice, notice.id, error=error, delay=delay) and notice.attempts == 1:
                self._event(s, notice.breach_id, "gdpr-bot", "notice_retrying",
                            f"Notice to club {notice.club_id} not accepted ({error}); it waits in the outbox.")

    def notices_due(self, *, grace: dt.timedelta) -> list[int]:
        """Club notices whose delivery may have been lost (see Outbox.due)."""
        return self.outbox.due(m.BreachNotice, grace=grace)

    # -- the clock ---------------------------------------------------------------------------------
    def due_reminders(self, now: dt.datetime) -> list[m.BreachReminder]:
        r = m.BreachReminder
        with self.db.session() as s:
            rows = reminders.due(s, r, now, owner=m.Breach, owner_key=m.Breach.id == r.breach_id,
                                 owner_open=m.Breach.status == m.BREACH_OPEN)
            s.expunge_all()
            return rows

    def fire(self, reminder: m.BreachReminder, now: dt.datetime) -> bool:
        """Mark the reminder fired (once: a conditional update), and put it on the timeline."""
        with self.db.session() as s:
            ok = reminders.fire(s, m.BreachReminder, reminder.id, now)
            if ok:
                self._event(s, reminder.breach_id, "scheduler", "reminder",
                            f"{reminder.mark_hours}-hour reminder escalated to the DPO.")
            return ok

    def reminder(self, reminder_id: int) -> m.BreachReminder:
        return self.db.load(m.BreachReminder, reminder_id, BreachNotFound("That reminder does not exist."))

    def snooze(self, *, reminder_id: int, actor: Actor) -> m.BreachReminder:
        r, reminder = m.BreachReminder, self.reminder(reminder_id)
        back = self.clock() + dt.timedelta(minutes=self.config.snooze_minutes)
        with self.db.session() as s:
            s.execute(update(r).where(r.id == reminder_id, r.status == "fired").values(status="pending", due_at=back))
            self._event(s, reminder.breach_id, actor.user_id, "snoozed",
                        f"{reminder.mark_hours}-hour reminder snoozed until {back:%d %b %H:%M} UTC.")
            fresh = s.get_one(r, reminder_id)
            s.expunge(fresh)
            return fresh

    # -- decisions -----------------------------------------------------------------------------------
    def assess(self, *, breach_id: int, actor: Actor, risk: str, reasoning: str) -> m.Breach:
        with self.db.session() as s:
            s.execute(update(m.Breach).where(m.Breach.id == breach_id).values(risk=risk, notify_reasoning=reasoning))
            self._event(s, breach_id, actor.user_id, "risk", f"Risk to people assessed as {risk.replace('_', ' ')}: "
                                                             f"{reasoning}")
        return self.get(breach_id)

    def decide_members(self, *, breach_id: int, actor: Actor, notify: bool, reasoning: str,
                       target: MemberTarget | None = None, instructed: list[str] | None = None,
                       uninstructed: bool = False) -> m.Breach:
        """Record the Art. 34 decision. To tell members, the clubs that instructed it and the members named
        are recorded and previewed (status 'previewed'); nothing is sent before `send_members`. Not telling
        them is one of two things, kept apart: the controller's exemption (Art. 34(3)), or no instruction
        from any controller (`uninstructed`: as processor the platform tells members only when told to)."""
        breach = self.get(breach_id)
        if breach.members_status in ("queued", "running", "done"):
            raise GdprError(f"Members of {REF}{breach_id} are already being told.")
        clubs = [c for c in instructed or [] if c in breach.clubs]
        if notify and (target is None or not clubs):
            raise GdprError("Tell members only on a club's instruction, and name the members concerned.")
        described = target.describe() if notify and target is not None else ""
        with self.db.session() as s:
            s.execute(update(m.Breach).where(m.Breach.id == breach_id).values(
                members_decision="notify" if notify else ("uninstructed" if uninstructed else "exempt"),
                members_reasoning=reasoning,
                members_status="previewed" if notify else None, members_updated_at=self.clock(),
                members_instructed=clubs if notify else None, members_target=target.to_json() if notify and target is not None else None))
            self._event(s, breach_id, actor.user_id, "members", (
                f"Members to be told (Art. 34) on the instruction of {len(clubs)} club(s); {described}: "
                if notify else NOT_TOLD[uninstructed]) + reasoning)
        return self.get(breach_id)

    def send_members(self, *, breach_id: int, actor: Actor, count: int) -> m.Breach:
        """The DPO saw the previewed count and sends: the member notices are queued (once)."""
        with self.db.session() as s:
            moved = changed(s.execute(update(m.Breach).where(m.Breach.id == breach_id, m.Breach.members_status == "previewed")
                              .values(members_status="queued", members_updated_at=self.clock())))
            if not moved:
                raise GdprError(f"The member notices of {REF}{breach_id} are not waiting to be sent.")
            self._event(s, breach_id, actor.user_id, "members_send", f"{count} member notice(s) approved for sending.")
        return self.get(breach_id)

    def update_facts(self, *, breach_id: int, actor: Actor, changes: dict[str, object]) -> m.Breach:
        with self.db.session() as s:
            s.execute(update(m.Breach).where(m.Breach.id == breach_id).values(**changes))
            self._event(s, breach_id, actor.user_id, "update", "Facts updated: " + ", ".join(sorted(changes)))
        return self.get(breach_id)

    def close(self, *, breach_id: int, actor: Actor, remedial: str, reasoning: str) -> m.Breach:
        breach = self.get(breach_id)
        if breach.status == m.BREACH_CLOSED:
            raise GdprError(f"{REF}{breach_id} is already closed.")
        now = self.clock()
        with self.db.session() as s:
            s.execute(update(m.Breach).where(m.Breach.id == breach_id).values(
                status=m.BREACH_CLOSED, closed_at=now, closed_by=actor.user_id, remedial_actions=remedial,
                decision_reasoning=reasoning))
            s.execute(update(m.BreachReminder).where(m.BreachReminder.breach_id == breach_id,
                                                     m.BreachReminder.status == "pending").values(status="settled"))
            self._event(s, breach_id, actor.user_id, "closed", f"Closed. Remedial actions: {remedial} "
                                                              f"Reasoning: {reasoning}")
        return self.get(breach_id)

    # -- members progress ----------------------------------------------------------------------------
    def members_progress(self, *, breach_id: int, total: int | None = None, done: int | None = None,
                         last_key: str | None = None, status: str | None = None) -> None:
        values: dict[str, object] = {k: v for k, v in (("members_total", total), ("members_done", done),
                                                       ("members_last_key", last_key), ("members_status", status))
                                     if v is not None}
        values["members_updated_at"] = self.clock()
        with self.db.session() as s:
            s.execute(update(m.Breach).where(m.Breach.id == breach_id).values(**values))
            if status == "done":
                self._event(s, breach_id, "gdpr-bot", "members_told", f"{done} member notice(s) sent.")

    # -- internals -----------------------------------------------------------------------------------
    def _event(self, s: Session, breach_id: int, actor: str, kind: str, text: str) -> None:
        s.add(m.BreachEvent(breach_id=breach_id, at=self.clock(), actor=actor, kind=kind, text=text))
        self.audit.record(s, actor=actor, action=f"breach.{kind}", breach=breach_id)


class LateNotice(GdprError):
    """Notices past `late_after_hours` carry the reasons for the delay: a processor owes notice without
    undue delay (Art. 33(2)); its reasons let the club give its own under Art. 33(1)."""


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)

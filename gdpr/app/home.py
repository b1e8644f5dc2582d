"""The overview on a user's App Home: open requests by due date with their countdown, what waits for this
viewer's decision, live temporary access, open breaches with their 72-hour clock, retention runs waiting
for the DPO. Each list is one indexed query with a limit and a count, so it stays fast on a large state
database; it shows references and dates, never a subject's personal data. Users who opened it are kept
current by the scheduler's pass."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gdpr.app.home_view import Home, Listed
from gdpr.breaches.service import BreachService
from gdpr.core import models as m
from gdpr.core.access import Actor
from gdpr.core.db import Database
from gdpr.core.ports import HomePresenter
from gdpr.core.shown import ShownMessages
from gdpr.grants.service import GrantService

log = logging.getLogger(__name__)
SHOWN = 15  # items per list; each list says how many there are
HOME = "home"


def digest(home: Home) -> str:
    """What a home shows, in 32 characters: its lists and the hour (countdowns move by the hour at most)."""
    shown = {**asdict(home), "now": home.now.strftime("%Y-%m-%d %H")}
    return hashlib.sha256(json.dumps(shown, sort_keys=True, default=str).encode()).hexdigest()[:32]


@dataclass
class Overview:
    db: Database
    staff: Callable[[str], Actor]  # a user's roles as the workspace says now (their user groups included)
    grants: GrantService
    breaches: BreachService
    shown: ShownMessages
    presenter: HomePresenter

    def opened(self, *, actor: Actor, now: dt.datetime | None = None) -> Home:
        """The viewer opened their App Home: their overview now; they are kept current from here on."""
        home = self.home(actor=actor, now=now)
        self.shown.remember(f"H-{actor.user_id}", HOME, (actor.user_id, digest(home)))
        return home

    def home(self, *, actor: Actor, now: dt.datetime | None = None) -> Home:
        now = now or self.grants.clock()
        decides = actor.can("request.decide")
        sees_requests = decides or actor.can("request.create") or actor.can("audit.read")
        with self.db.session() as s:  # deny by default: a list only to a role that has a use for it
            return Home(
                user_id=actor.user_id, now=now, requests=self._requests(s) if sees_requests else None,
                approvals=self._approvals(s, actor) if decides else None,
                grants=self._grants(s, None if decides else actor.user_id, now)
                if decides or actor.can("grant.request") else None,
                breaches=self._breaches(s) if actor.can("breach.read") else None,
                runs=self._runs(s) if decides or actor.can("retention.read") else None)

    def refresh(self, *, now: dt.datetime | None = None, limit: int = 200) -> int:
        """The scheduler's pass: republish each App Home that was opened and whose content changed (Slack
        down: the next pass)."""
        refreshed = 0
        for ref, (_, shown) in self.shown.of_role(HOME, limit=limit):
            user = ref.removeprefix("H-")
            try:
                home = self.home(actor=self.staff(user), now=now)
                if digest(home) == shown:  # nothing to show that is not shown (Slack limits views.publish)
                    continue
                self.presenter.home_changed(home)
                self.shown.remember(ref, HOME, (user, digest(home)))
                refreshed += 1
            except Exception as exc:  # one user's failure does not stop the others
                log.warning("App Home of %s not refreshed: %s", user, type(exc).__name__)
        return refreshed

    @staticmethod
    def _requests(s: Session) -> Listed:
        r = m.SubjectRequest
        open_ = r.status.in_(m.UNANSWERED)
        rows = s.execute(select(r.id, r.kind, r.status, r.due_on, r.extended_at).where(open_)
                         .order_by(r.due_on, r.id).limit(SHOWN)).all()
        total = s.execute(select(func.count()).select_from(r).where(open_)).scalar_one()
        return Listed([{"ref": f"R-{i}", "kind": k, "status": st, "due_on": d, "extended": e is not None}
                       for i, k, st, d, e in rows], total)

    @staticmethod
    def _approvals(s: Session, actor: Actor) -> Listed:
        items, total = [], 0
        for model, ref, what, statuses in ((m.SubjectRequest, "R-", "request", m.DECIDABLE),
                                           (m.AccessGrant, "G-", "access grant", m.GRANT_DECIDABLE),
                                           (m.BulkRun, "P-", "bulk run", (m.AWAITING_APPROVAL,))):
            mine = model.status.in_(statuses) & (model.requester_id != actor.user_id)
            total += s.execute(select(func.count()).select_from(model).where(mine)).scalar_one()
            items += [{"ref": f"{ref}{i}", "what": what} for (i,) in
                      s.execute(select(model.id).where(mine).order_by(model.id).limit(SHOWN))]
        return Listed(items[:SHOWN], total)

    @staticmethod
    def _grants(s: Session, user_id: str | None, now: dt.datetime) -> Listed:
        g = m.AccessGrant
        live = (g.status == m.APPROVED) & (g.expires_at > now)
        if user_id is not None:
            live = live & (g.requester_id == user_id)
        rows = s.execute(select(g.id, g.requester_id, g.expires_at).where(live).order_by(g.expires_at).limit(SHOWN)).all()
        total = s.execute(select(func.count()).select_from(g).where(live)).scalar_one()
        return Listed([{"ref": f"G-{i}", "user": u, "expires_at": e} for i, u, e in rows], total)

    def _breaches(self, s: Session) -> Listed:
        b = m.Breach
        open_ = b.status == m.BREACH_OPEN
        rows = list(s.execute(select(b).where(open_).order_by(b.aware_at).limit(SHOWN)).scalars())
        total = s.execute(select(func.count()).select_from(b).where(open_)).scalar_one()
        return Listed([{"ref": f"B-{x.id}", "deadline": self.breaches.deadline(x), "phase": x.phase} for x in rows], total)

    @staticmethod
    def _runs(s: Session) -> Listed:
        run = m.BulkRun
        waiting = (run.status == m.AWAITING_APPROVAL) & (run.source == "retention")
        rows = s.execute(select(run.id, run.policy, run.total).where(waiting).order_by(run.id).limit(SHOWN)).all()
        total = s.execute(select(func.count()).select_from(run).where(waiting)).scalar_one()
        return Listed([{"ref": f"P-{i}", "policy": p, "rows": n} for i, p, n in rows], total)

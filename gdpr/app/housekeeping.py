"""The scheduler's pass: the state database leads, so whatever the queue lost is sent again from it,
the retention policies' due slots are opened (by one scheduler at a time), and every open breach's
clock is kept current with its reminders, as is every open request's month; temporary access that reached its end is closed;
the residue proof's indexes are kept current (PostgreSQL); every request that ended is certified."""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from gdpr.app.breaches import BreachDesk
from gdpr.app.deadlines import RequestDeadlines
from gdpr.app.grants import Grants
from gdpr.app.home import Overview
from gdpr.app.purges import Purges
from gdpr.breaches.service import BreachService
from gdpr.bulk.runs import BulkRuns
from gdpr.clubs.tokens import REFUSALS_KEPT, ClubTokens
from gdpr.core.ports import JobQueue, OwedUpdates
from gdpr.erasure.ledger import forget_ended
from gdpr.erasure.notices import NoticeService
from gdpr.requests.export_files import ExportFiles
from gdpr.requests.jobs import reconcile, resend
from gdpr.requests.service import RequestService

log = logging.getLogger(__name__)


@dataclass
class Housekeeping:
    requests: RequestService
    runs: BulkRuns
    notices: NoticeService
    breaches: BreachService
    purges: Purges
    breach_desk: BreachDesk
    access_grants: Grants
    request_deadlines: RequestDeadlines
    overview: Overview
    queue: JobQueue
    exports: ExportFiles
    owed: OwedUpdates  # card updates Slack could not take when they happened
    quiet: dt.timedelta  # how long a queued job or a due notice may wait before it counts as lost
    clock: Callable[[], dt.datetime]
    club_tokens: ClubTokens | None = None  # its record of refused anonymous API calls is kept REFUSALS_KEPT
    statements: Callable[[], int] | None = None  # OffboardingSteps.settle_due: statements whose notices settled
    residue_indexes: Callable[[], object] | None = None  # ResidueIndexes.keep: a build started when they are stale
    certificates: Callable[[], int] | None = None  # Certificates.issue_due: ended requests signed, shown in their thread

    def reconcile(self) -> list[int]:
        """Re-enqueue what the queue may have lost; returns the subject requests sent again."""
        quiet, queue = self.quiet, self.queue
        sent = reconcile(self.requests, lambda i: queue.request(i, self.requests.get(i).kind), requeue_after=quiet)
        resend(self.runs.needing_enqueue(requeue_after=quiet), queue.run, label="P-",
               sent=lambda i: self.runs.mark_queued(run_id=i))
        resend(self.breaches.members_stalled(quiet_for=quiet), queue.member_notices, label="member notices B-")
        resend(self.breaches.notices_due(grace=quiet), queue.breach_notice, label="breach notice ")
        resend(self.notices.due(grace=quiet), queue.notice, label="notice ")
        self.owed.deliver_owed()  # the latest state of every card Slack missed
        forget_ended(self.requests.db)  # an erasure job that failed for good keeps no sealed identifiers
        if self.statements is not None:
            self.statements()  # an offboarding statement whose last notice settled while no job could sign it
        swept = self.exports.sweep()  # a dead attempt's plaintext work folder does not wait for the TTL
        if swept:
            log.info("removed %d leftover export file(s) of attempts that died", swept)
        return sent

    def run_pass(self, *, owner: str, now: dt.datetime | None = None) -> None:
        """One pass: reconcile; then, if this scheduler leads, open due slots and fire breach reminders."""
        now = now or self.clock()
        self.reconcile()
        if self.purges.open_scheduled(now=now, owner=owner) is not None:  # None: another scheduler leads
            self.breach_desk.fire_reminders(now)
            self.request_deadlines.fire_reminders(now)
            self.access_grants.expire_due(now)  # (a grant stops unmasking at its end whether or not this ran)
            self.purges.withdraw_returned(now=now, ttl=self.exports.ttl)  # offboarding archives, like every export
            self.overview.refresh(now=now, limit=50)  # the App Homes that were opened, kept current
            if self.club_tokens is not None:
                self.club_tokens.forget_refusals(before=now - REFUSALS_KEPT)
            if self.residue_indexes is not None:
                self.residue_indexes()  # in the background: the pass goes on
            if self.certificates is not None:
                self.certificates()  # every request that ended since: signed, and shown in its thread (one leader)

"""In-memory fakes of the domain's ports (gdpr/core/ports.py): what would have been shown or enqueued, and
the state of the thing at that moment. They fake the outside (Slack, the broker), never our own code."""
from __future__ import annotations

import datetime as dt

from gdpr.core import models as m


class FakeRequestPresenter:
    def __init__(self) -> None:
        self.shown: list[tuple[str, int, str]] = []  # (what, request id, its status then)
        self.opened: list[dict[str, str]] = []
        self.passphrases: list[str] = []
        self.reports: list[int] = []
        self.hits: list[list] = []
        self.reminders: list[tuple[int, int]] = []  # (request id, days before the due date)
        self.notices: list[tuple[int, str]] = []  # refusal notices
        self.down = False  # reminders cannot be posted (Slack down)

    def _saw(self, what: str, req: m.SubjectRequest) -> None:
        self.shown.append((what, req.id, req.status))

    def request_opened(self, req: m.SubjectRequest, subject: dict[str, str], reply_to: str | None) -> None:
        self._saw("opened", req)
        self.opened.append(subject)

    def request_changed(self, req: m.SubjectRequest) -> None:
        self._saw("changed", req)

    def send_passphrase(self, req, export, passphrase: str) -> None:
        self.passphrases.append(passphrase)

    def passphrase_delivered(self, req: m.SubjectRequest) -> bool:
        return False

    def publish_file(self, req, export) -> str:
        assert export.path.is_file()
        return f"F{req.id}"

    def find_published(self, req: m.SubjectRequest) -> str | None:
        return None

    def withdraw_file(self, req: m.SubjectRequest, reason: str) -> bool:
        return True

    def erasure_reported(self, req, report, hits) -> None:
        self.reports.append(report.rows)
        self.hits.append(hits)

    def notices_changed(self, req: m.SubjectRequest) -> None:
        self._saw("notices", req)

    def job_failed(self, req: m.SubjectRequest, reference: str) -> None:
        self._saw("failed", req)

    def request_reminder(self, req: m.SubjectRequest, days_before: int, now: dt.datetime) -> bool:
        if self.down:
            raise ConnectionError("slack down")
        self.reminders.append((req.id, days_before))
        return True

    def request_extended(self, req: m.SubjectRequest) -> None:
        self._saw("extended", req)

    def request_refused(self, req: m.SubjectRequest, notice: str) -> None:
        self.notices.append((req.id, notice))

    def request_note(self, req: m.SubjectRequest, text: str) -> None:
        self._saw("note", req)


class FakeBulkPresenter:
    def __init__(self) -> None:
        self.cards: list[tuple[int, str, int]] = []  # (run id, status, total)
        self.changes: list[tuple[int, str]] = []

    def post_card(self, run: m.BulkRun) -> None:
        self.cards.append((run.id, run.status, run.total))

    def bulk_changed(self, run: m.BulkRun, rate: float | None = None) -> None:
        self.changes.append((run.id, run.status))

    def bulk_failed(self, run: m.BulkRun, reference: str) -> None:
        self.changes.append((run.id, "failed"))


class FakeBreachPresenter:
    def __init__(self) -> None:
        self.alerts: list[int] = []
        self.refreshed: list[tuple[int, str]] = []  # (breach id, its status then)
        self.reminders: list[tuple[int, int]] = []  # (breach id, hour mark)
        self.previews: list[tuple[int, int]] = []  # (breach id, members counted)
        self.progress: list[tuple[int, int]] = []  # (breach id, members told so far)
        self.closed_with: list[tuple[int, int]] = []  # (breach id, clubs told)

    def post_alert(self, breach: m.Breach) -> None:
        self.alerts.append(breach.id)

    def refresh(self, breach: m.Breach, now: dt.datetime | None = None) -> None:
        self.refreshed.append((breach.id, breach.status))

    def reminder(self, breach: m.Breach, reminder: m.BreachReminder, now: dt.datetime) -> bool:
        self.reminders.append((breach.id, reminder.mark_hours))
        return True

    def members_preview(self, breach: m.Breach, count: int) -> None:
        self.previews.append((breach.id, count))

    def members_progress(self, breach: m.Breach, force: bool = False) -> None:
        self.progress.append((breach.id, breach.members_done))

    def closed(self, breach: m.Breach, *, by: str, clubs_told: int, remedial: str, reasoning: str) -> None:
        self.closed_with.append((breach.id, clubs_told))


class FakeQueue:
    """The JobQueue port: what would have been enqueued, in order (ids only)."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    def request(self, request_id: int, kind: str) -> None:
        self.sent.append((request_id, kind))

    def run(self, run_id: int) -> None:
        self.sent.append((run_id, "run"))

    def notice(self, notice_id: int, delay_ms: int = 0) -> None:
        self.sent.append((notice_id, "notice"))

    def breach_notice(self, notice_id: int, delay_ms: int = 0) -> None:
        self.sent.append((notice_id, "breach notice"))

    def member_notices(self, breach_id: int) -> None:
        self.sent.append((breach_id, "member notices"))

    def of(self, what: str) -> list[int]:
        return [i for i, w in self.sent if w == what]


class FakeOwed:
    def deliver_owed(self) -> int:
        return 0


class FakeGrantPresenter:
    """The GrantPresenter port: what was shown, in order; `down` makes telling the end fail (Slack down)."""

    def __init__(self) -> None:
        self.shown: list[tuple[str, int, str]] = []  # (what, grant id, status)
        self.down = False

    def grant_opened(self, grant: m.AccessGrant, subject: dict[str, str]) -> None:
        self.shown.append(("opened", grant.id, grant.status))

    def grant_changed(self, grant: m.AccessGrant) -> None:
        self.shown.append(("changed", grant.id, grant.status))

    def grant_started(self, grant: m.AccessGrant) -> None:
        self.shown.append(("started", grant.id, grant.status))

    def grant_ended(self, grant: m.AccessGrant) -> None:
        if self.down:
            raise ConnectionError("slack down")
        self.shown.append(("ended", grant.id, grant.status))


class FakeHomePresenter:
    """The HomePresenter port: every overview published, in order."""

    def __init__(self) -> None:
        self.published: list = []

    def home_changed(self, home) -> None:
        self.published.append(home)

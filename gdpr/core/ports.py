"""The ports the domain talks to the outside through; the adapters (Slack, the queue) implement them
and bootstrap hands them in. Nothing here knows Slack or Dramatiq."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import datetime as dt

    from gdpr.app.home_view import Home
    from gdpr.core import models as m
    from gdpr.erasure.engine import ErasureReport
    from gdpr.erasure.residue import Hit
    from gdpr.requests.export import ExportFile


class RequestPresenter(Protocol):
    """Where a subject request is shown (Slack in production: the requester's channel and the DPO's
    approval card, the thread, the requester's direct messages). Channels see masked data only."""

    def request_opened(self, req: m.SubjectRequest, subject: dict[str, str], reply_to: str | None) -> None: ...
    def request_changed(self, req: m.SubjectRequest) -> None: ...
    def send_passphrase(self, req: m.SubjectRequest, export: ExportFile, passphrase: str) -> None: ...
    def passphrase_delivered(self, req: m.SubjectRequest) -> bool: ...
    def publish_file(self, req: m.SubjectRequest, export: ExportFile) -> str: ...
    def find_published(self, req: m.SubjectRequest) -> str | None: ...
    def withdraw_file(self, req: m.SubjectRequest, reason: str) -> bool: ...
    def erasure_reported(self, req: m.SubjectRequest, report: ErasureReport, hits: list[Hit]) -> None: ...
    def notices_changed(self, req: m.SubjectRequest) -> None: ...
    def job_failed(self, req: m.SubjectRequest, reference: str) -> None: ...
    def request_reminder(self, req: m.SubjectRequest, days_before: int, now: dt.datetime) -> bool: ...  # shown?
    def request_extended(self, req: m.SubjectRequest) -> None: ...
    def request_refused(self, req: m.SubjectRequest, notice: str) -> None: ...
    def request_note(self, req: m.SubjectRequest, text: str) -> None: ...  # a line in the request's thread


class BulkPresenter(Protocol):
    """Where a bulk run is shown (Slack: its dry-run card in the DPO channel, kept current)."""

    def post_card(self, run: m.BulkRun) -> None: ...
    def bulk_changed(self, run: m.BulkRun, rate: float | None = None) -> None: ...
    def bulk_failed(self, run: m.BulkRun, reference: str) -> None: ...
    # a club's offboarding: its data handed back (the passphrase to the requester alone), then the statement
    def data_returned(self, run: m.BulkRun, export: ExportFile, passphrase: str) -> str: ...  # the file's id
    def withdraw_returned(self, run: m.BulkRun, file_id: str) -> bool: ...  # False: try again on the next pass
    def statement_issued(self, run: m.BulkRun, statement: dict) -> None: ...


class BreachPresenter(Protocol):
    """Where a breach is run from (Slack: its alert with the 72-hour clock, the thread, reminders)."""

    def post_alert(self, breach: m.Breach) -> str | None: ...  # the response channel it opened, if any
    def refresh(self, breach: m.Breach, now: dt.datetime | None = None) -> None: ...
    def reminder(self, breach: m.Breach, reminder: m.BreachReminder, now: dt.datetime) -> bool: ...  # shown?
    def members_preview(self, breach: m.Breach, count: int) -> None: ...
    def members_progress(self, breach: m.Breach, force: bool = False) -> None: ...
    def closed(self, breach: m.Breach, *, by: str, clubs_told: int, remedial: str, reasoning: str) -> None: ...


class GrantPresenter(Protocol):
    """Where temporary access is decided and followed (Slack: a card in the DPO channel, its thread)."""

    def grant_opened(self, grant: m.AccessGrant, subject: dict[str, str]) -> None: ...
    def grant_changed(self, grant: m.AccessGrant) -> None: ...
    def grant_started(self, grant: m.AccessGrant) -> None: ...
    def grant_ended(self, grant: m.AccessGrant) -> None: ...  # raises when the requester could not be told


class HomePresenter(Protocol):
    """Where a user's overview is shown (Slack: their App Home)."""

    def home_changed(self, home: Home) -> None: ...


class OwedUpdates(Protocol):
    """Updates of shown things the presenter could not deliver when they happened (Slack down)."""

    def deliver_owed(self) -> int: ...


class JobQueue(Protocol):
    """Enqueues work by id, never personal data (Dramatiq in production); raises when the broker
    cannot take it, and the state database - which leads - has the work for the reconciler."""

    def request(self, request_id: int, kind: str) -> None: ...
    def run(self, run_id: int) -> None: ...
    def notice(self, notice_id: int, delay_ms: int = 0) -> None: ...
    def breach_notice(self, notice_id: int, delay_ms: int = 0) -> None: ...
    def member_notices(self, breach_id: int) -> None: ...


@dataclass(frozen=True)
class Presenters:
    """One implementation of each presenter port (the Slack adapter's, or a test's fakes)."""

    requests: RequestPresenter
    bulk: BulkPresenter
    breaches: BreachPresenter
    owed: OwedUpdates
    grants: GrantPresenter
    home: HomePresenter

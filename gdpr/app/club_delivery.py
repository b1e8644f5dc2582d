"""How a request's export reaches its club through the API: the archive as an expiring, single-use
download link the club fetches, the passphrase by mail to the club's GDPR contact - never in the same
channel as the link. `ByRequester` (the request presenter) chooses, per request, this delivery, Slack's
or both; everything the DPO and the channels see (cards, threads, reports) stays Slack's."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gdpr.clubs.downloads import Downloads
from gdpr.core import models as m
from gdpr.core.errors import GdprError
from gdpr.core.mail import Mailer, build_message
from gdpr.core.ports import RequestPresenter
from gdpr.requests.export import ExportFile

CLUB = "club:"


def club_of(requester_id: str) -> str | None:
    """The club code of a request opened through the API (its requester is `club:<code>`), else None."""
    return requester_id[len(CLUB):] if requester_id.startswith(CLUB) else None


@dataclass
class ClubDelivery:
    """The export-delivery half of the request presenter port, for the club's API."""
    downloads: Downloads
    mailer: Mailer
    contact: Callable[[str, str], dict]  # (subject type, key) -> the club: name, contact (its GDPR email)
    sender: str

    def send_passphrase(self, req: m.SubjectRequest, export: ExportFile, passphrase: str) -> None:
        club = self.contact(req.subject_type, req.subject_key)
        if "@" not in str(club.get("contact")):
            raise GdprError(f"Club {club['name']} has no GDPR contact email: the passphrase of R-{req.id} cannot be "
                            "sent. Record one in the platform, then retry the request.")
        body = (f"Dear {club['name']},\n\nThe export for your data-subject request R-{req.id} is ready. Your "
                f"system fetches it through the API (GET /v1/requests/{req.id}, then its download link, which "
                f"works once and expires). It is an AES-256 zip; its passphrase is:\n\n    {passphrase}\n\n"
                "This passphrase is sent only by this mail, never with the link. Keep it away from the file.\n")
        self.mailer.send(build_message(sender=self.sender, to=club["contact"], subject=f"Passphrase for R-{req.id}",
                                       body=body, idempotency_key=f"R-{req.id}:passphrase:{export.name}"))

    def passphrase_delivered(self, req: m.SubjectRequest) -> bool:
        return False  # a mail cannot be checked for: a retry after a crash sends a new archive and passphrase

    def publish_file(self, req: m.SubjectRequest, export: ExportFile) -> str:
        return f"link:{self.downloads.create(request_id=req.id)}"

    def find_published(self, req: m.SubjectRequest) -> str | None:
        live = self.downloads.live(request_id=req.id)
        return f"link:{live[0]}" if live else None

    def withdraw_file(self, req: m.SubjectRequest, reason: str) -> bool:
        self.downloads.revoke(request_id=req.id, why=reason)
        return True


@dataclass
class ByRequester:
    """The request presenter: where each request's answer goes. A request a club opened through the API is
    answered through the API; an access request opened in Slack goes where config/clubs.yaml says for the
    member's club (`slack`, `api` or `both`, the same archive); cards, threads and reports are Slack's."""
    slack: RequestPresenter
    club: ClubDelivery
    deliveries: dict[str, str] = field(default_factory=dict)  # club code -> slack | api | both
    club_code: Callable[[str, str], dict] | None = None  # (subject type, key) -> the club (its "code")

    def delivery(self, req: m.SubjectRequest) -> str:
        if club_of(req.requester_id):
            return "api"
        if req.kind != "access" or not self.deliveries or self.club_code is None:
            return "slack"
        return self.deliveries.get(str(self.club_code(req.subject_type, req.subject_key).get("code")), "slack")

    def send_passphrase(self, req: m.SubjectRequest, export: ExportFile, passphrase: str) -> None:
        way = self.delivery(req)
        if way in ("slack", "both"):
            self.slack.send_passphrase(req, export, passphrase)
        if way in ("api", "both"):
            self.club.send_passphrase(req, export, passphrase)

    def passphrase_delivered(self, req: m.SubjectRequest) -> bool:
        return self.delivery(req) != "api" and self.slack.passphrase_delivered(req)

    def publish_file(self, req: m.SubjectRequest, export: ExportFile) -> str:
        way = self.delivery(req)
        if way in ("api", "both"):
            link = self.club.publish_file(req, export)
            self.slack.request_note(req, f":inbox_tray: R-{req.id}: the export is {'also ' if way == 'both' else ''}"
                                         "available to the club through its API (a single-use link); the "
                                         "passphrase went by mail to the club's GDPR contact.")
            if way == "api":
                return link
        return self.slack.publish_file(req, export)

    def find_published(self, req: m.SubjectRequest) -> str | None:
        return (self.club if self.delivery(req) == "api" else self.slack).find_published(req)

    def withdraw_file(self, req: m.SubjectRequest, reason: str) -> bool:
        way = self.delivery(req)
        if way in ("api", "both"):
            self.club.withdraw_file(req, reason)
        return True if way == "api" else self.slack.withdraw_file(req, reason)

    def __getattr__(self, name: str) -> Any:  # the rest (cards, threads, reports): Slack's
        return getattr(self.slack, name)

"""Use cases of the clubs' API: a club (the controller) opens access and erasure requests for its own
members - the same requests, through the same DPO approval in Slack - reads their status and due dates,
and fetches a finished export through its single-use link. Everything is scoped to the club its token
belongs to: another club's member or request does not exist for it (404, never 403). Every call is
audited (club, route, outcome - never personal data)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from gdpr.app.reads import Page, page_bounds
from gdpr.app.requests import SubjectRequests
from gdpr.app.rights import RightsDesk
from gdpr.clubs.downloads import Downloads
from gdpr.clubs.tokens import ClubTokens, Issued
from gdpr.core import models as m
from gdpr.core.access import Actor
from gdpr.core.authz import Authorizer
from gdpr.core.errors import NotFound, RequestNotFound, UsageError
from gdpr.requests.export_files import DOWNLOADED, ExportFiles
from gdpr.requests.service import aware

DPO_ONLY = "Only the DPO may manage the clubs' API tokens."
KINDS = {"access": "access", "portability": "access", "erasure": "erase", "erase": "erase"}
RIGHTS = {"restriction": "ground", "restriction-lift": "reason", "rectification": "changes"}  # what each one needs


@dataclass(frozen=True)
class RequestStatus:
    id: int
    kind: str
    status: str
    received_on: dt.date | None
    due_on: dt.date
    via_api: bool
    download: str | None  # the live single-use link's token, once the export is ready
    download_expires_at: dt.datetime | None
    original_due_on: dt.date | None = None  # set when the DPO extended the deadline (Art. 12(3))
    extension_reasons: str | None = None  # what the club must pass on to the person within the first month
    refusal_ground: str | None = None  # refused (Art. 12(5))
    refusal_notice: str | None = None  # the notice with the remedies of Art. 12(4), for the club to pass on


@dataclass(frozen=True)
class Transfer:
    request_id: int
    path: Path
    link_id: int
    club: str


@dataclass
class ClubApi:
    tokens: ClubTokens
    subject_requests: SubjectRequests
    downloads: Downloads
    files: ExportFiles  # where the archives are kept (EXPORT_DIR, or a bucket every machine sees)
    club_key: Callable[[str], str | None]  # a club's code -> its key in the platform (None: no such club)
    refusal_notice: Callable[[m.SubjectRequest], str] | None = None  # RequestDeadlines.refusal_notice
    certify: Callable[[int], dict] | None = None  # Certificates.issue: an ended request's signed certificate
    rights: RightsDesk | None = None  # restriction, its lifting, rectification (Art. 16, 18)

    def authenticate(self, *, token: str | None, address: str) -> str:
        """The club whose live token this is, calling from an allowed address (raises otherwise)."""
        return self.tokens.verify(token, address)

    def record_call(self, *, club: str | None, method: str, route: str, status: int,
                    request_id: int | None = None) -> None:
        requests = self.subject_requests.requests
        with requests.db.session() as s:
            requests.audit.record(s, actor=f"club:{club}" if club else "api:unauthenticated", action="api.call",
                                  request_id=request_id, method=method, route=route, status=status)

    def open(self, *, club: str, kind: str, member: str, received_on: dt.date | None, ground: str | None = None,
             reason: str | None = None, changes: dict[str, str] | None = None) -> RequestStatus:
        """A request for one of the club's members, awaiting the DPO like any other (a restriction: under way at
        once). A restriction carries its `ground`, lifting one its `reason`, a rectification its `changes`."""
        if kind not in KINDS and kind not in RIGHTS:
            raise UsageError(f"`kind` is one of: {', '.join(sorted([*KINDS, *RIGHTS]))}.")
        given = {k for k, v in (("ground", ground), ("reason", reason), ("changes", changes)) if v is not None}
        if given - {RIGHTS.get(kind)}:
            raise UsageError(f"`{sorted(given - {RIGHTS.get(kind)})[0]}` does not go with a request of kind `{kind}`.")
        actor = Actor(user_id=f"club:{club}", roles=frozenset({"club"}), permissions=frozenset({"request.create"}))
        if kind in RIGHTS:
            if self.rights is None:
                raise NotFound("Restriction and rectification are not offered by this deployment.")
            desk = self.rights
            if kind == "restriction":
                request_id = desk.restrict(actor=actor, identity=member, subject_type="member", club_code=club,
                                           ground=ground or "")[0]
            elif kind == "restriction-lift":
                request_id = desk.lift(actor=actor, identity=member, subject_type="member", club_code=club,
                                       reason=reason or "").request_id
            else:
                request_id = desk.rectify(actor=actor, identity=member, subject_type="member", club_code=club,
                                          changes=changes or {}).request_id
            return self.status(club=club, request_id=request_id)
        opened = self.subject_requests.open(actor=actor, kind=KINDS[kind], identity=member, subject_type="member",
                                            club_code=club, club_received_on=received_on)
        return self.status(club=club, request_id=opened.request_id)

    def status(self, *, club: str, request_id: int) -> RequestStatus:
        req = self._own(club, request_id)
        notice = self.refusal_notice(req) if req.status == m.REFUSED and self.refusal_notice else None
        return _status(req, club, self.downloads.live(request_id=req.id) if req.status == m.DONE else None, notice)

    def certificate(self, *, club: str, request_id: int) -> dict:
        """The signed certificate of one of the club's requests, once it has ended (NotEnded before)."""
        req = self._own(club, request_id)
        if self.certify is None:
            raise NotFound("Certificates are not issued by this deployment.")
        return self.certify(req.id)

    def listed(self, *, club: str, offset: int = 0, limit: int = 50) -> Page[RequestStatus]:
        """The club's requests (those it opened and those opened for its members in Slack), newest first."""
        offset, limit = page_bounds(offset, limit)
        key, r = self.club_key(club), m.SubjectRequest
        with self.subject_requests.requests.db.session() as s:  # one query for the page, one for its links
            total = s.execute(select(func.count()).select_from(r).where(r.club_id == key)).scalar_one()
            rows = list(s.execute(select(r).where(r.club_id == key).order_by(r.id.desc())
                                  .offset(offset).limit(limit)).scalars())
            s.expunge_all()
        links = self.downloads.live_many(request_ids=[x.id for x in rows if x.status == m.DONE])
        return Page([_status(x, club, links.get(x.id)) for x in rows], offset, total)

    def download(self, *, club: str, token: str) -> Transfer:
        """Start the single download of one of the club's requests' links: the archive to send. The link is
        spent by `finished` (the last byte went out), freed by `dropped`."""
        request_id = self.downloads.request_of(token)
        if request_id is None:
            raise RequestNotFound("No such download link.")
        self._own(club, request_id)  # another club's link is not spent, and does not exist for this one
        fetched = self.downloads.begin(token=token, actor=f"club:{club}")
        path = self.files.fetch(fetched.export_name) if fetched.export_name else None
        if path is None:
            self.downloads.drop(link_id=fetched.link_id, actor=f"club:{club}", sent=0, size=0)
            raise RequestNotFound("The export is no longer stored (its time ran out, or the member was erased).")
        return Transfer(fetched.request_id, path, fetched.link_id, club)

    def finished(self, transfer: Transfer, size: int) -> None:
        """The last byte went out: the link is spent and the archive has done its work - this machine's copy,
        the stored one (every version of it in a bucket) go, recorded on the request and in the audit log."""
        if self.downloads.finish(link_id=transfer.link_id, actor=f"club:{transfer.club}", size=size):
            self.files.release_local(transfer.path.name)
            self.files.remove(request_id=transfer.request_id, reason=DOWNLOADED)

    def dropped(self, transfer: Transfer, sent: int, size: int) -> None:
        """The client went away (or the send failed) before the last byte: the link stays live."""
        self.downloads.drop(link_id=transfer.link_id, actor=f"club:{transfer.club}", sent=sent, size=size)

    def record_refusal(self, *, address: str, method: str, route: str, status: int) -> None:
        """A call refused before any club was known: kept apart from the audit chain (never on its head)."""
        self.tokens.record_refusal(address=address, method=method, route=route, status=status)

    def _own(self, club: str, request_id: int) -> m.SubjectRequest:
        """The request if it concerns one of the club's members; RequestNotFound (404) otherwise."""
        try:
            req = self.subject_requests.requests.get(request_id)
        except RequestNotFound:
            req = None
        if req is None or req.club_id is None or req.club_id != self.club_key(club):
            raise RequestNotFound(f"There is no request R-{request_id} for your club.")
        return req


def _status(req: m.SubjectRequest, club: str, live: tuple[int, str, dt.datetime] | None,
            notice: str | None = None) -> RequestStatus:
    refused = req.status == m.REFUSED
    return RequestStatus(req.id, req.kind, req.status, req.club_received_on, req.due_on,
                         req.requester_id == f"club:{club}", live[1] if live else None, live[2] if live else None,
                         original_due_on=req.original_due_on if req.extended_at else None,
                         extension_reasons=req.extension_reason if req.extended_at else None,
                         refusal_ground=req.reject_reason if refused else None, refusal_notice=notice if refused else None)


def expires(value: dt.datetime | None) -> str | None:
    return aware(value).isoformat() if value else None  # type: ignore[union-attr]


@dataclass
class ClubAccess:
    """The DPO issues, rotates and revokes the clubs' API tokens (`/gdpr club token …`)."""
    authz: Authorizer
    tokens: ClubTokens
    club_key: Callable[[str], str | None]

    def issue(self, *, actor: Actor, club: str, allowed: list[str] | None) -> Issued:
        """A new token (the old one stops working at once): the caller shows it once, to the DPO alone."""
        self.authz.require(actor, "request.decide", refusal=DPO_ONLY, club=club)
        if self.club_key(club) is None:
            raise NotFound(f"There is no club `{club[:40]}`.")
        return self.tokens.issue(club=club, by=actor.user_id, allowed=allowed)

    def revoke(self, *, actor: Actor, club: str) -> int:
        self.authz.require(actor, "request.decide", refusal=DPO_ONLY, club=club)
        return self.tokens.revoke(club=club, by=actor.user_id)

    def listed(self, *, actor: Actor) -> list[m.ClubToken]:
        self.authz.require(actor, "request.decide", refusal=DPO_ONLY)
        return self.tokens.listed()

"""A request opened, decided and completed through the use cases alone: no Slack, no broker. The
presenter and the queue are in-memory fakes of the ports (gdpr/ports.py); the database is real."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from dramatiq.brokers.stub import StubBroker
from slack_sdk import WebClient
from sqlalchemy import text

from bootstrap.compose import Services, build
from gdpr import models as m
from gdpr.errors import AlreadyDecided, NotAllowed
from gdpr.migrate import upgrade_database
from gdpr.settings import Settings
from tests.conftest import ROOT
from tests.helpers import DPO, STRANGER, SUPPORT, unique_member


class FakePresenter:
    """Records what would be shown, and the request's status at that moment."""

    def __init__(self) -> None:
        self.shown: list[tuple[str, int, str]] = []
        self.opened: list[dict[str, str]] = []
        self.passphrases: list[str] = []
        self.reports: list[int] = []

    def _saw(self, what: str, req: m.SubjectRequest) -> None:
        self.shown.append((what, req.id, req.status))

    def request_opened(self, req: m.SubjectRequest, subject: dict[str, str]) -> None:
        self._saw("opened", req)
        self.opened.append(subject)

    def request_changed(self, req: m.SubjectRequest) -> None:
        self._saw("changed", req)

    def send_passphrase(self, req, export, passphrase: str) -> None:  # noqa: ANN001
        self.passphrases.append(passphrase)

    def publish_file(self, req, export) -> str:  # noqa: ANN001
        assert export.path.is_file()
        return f"F{req.id}"

    def find_published(self, req: m.SubjectRequest) -> str | None:
        return None

    def withdraw_file(self, req: m.SubjectRequest, reason: str) -> bool:
        return True

    def erasure_reported(self, req, report, hits) -> None:  # noqa: ANN001
        self.reports.append(report.rows)
        assert hits == []

    def notices_changed(self, req: m.SubjectRequest) -> None:
        self._saw("notices", req)

    def job_failed(self, req: m.SubjectRequest, reference: str) -> None:
        self._saw("failed", req)


class FakeQueue:
    """The JobQueue port in memory: what would have been enqueued, in order."""

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


@pytest.fixture
def app(sqlite_url: str, tmp_path: Path):  # noqa: ANN201
    settings = Settings(database_url=sqlite_url, secret_key="k" * 32, export_dir=tmp_path / "exports",
                        outbox_dir=tmp_path / "outbox", config_dir=ROOT / "config")
    services = build(settings, broker=StubBroker(), slack=WebClient(base_url="http://127.0.0.1:9/"))
    upgrade_database(services.db)
    presenter, queue = FakePresenter(), FakeQueue()
    services.subject_requests = dataclasses.replace(services.subject_requests, presenter=presenter, queue=queue)
    yield services, presenter, queue
    services.close()


def _dpo(services: Services):  # noqa: ANN202
    return services.policy.actor(DPO, frozenset({"S0DPOTEAM"}))


def test_an_access_request_goes_from_opened_to_done_without_slack(app) -> None:  # noqa: ANN001
    services, presenter, queue = app
    member = unique_member(services.system.engine)
    use = services.subject_requests
    opened = use.open(actor=services.policy.actor(SUPPORT), kind="access", identity=member["email"],
                      subject_type="member", club_code=None, channel_id="C0SUPPORT")
    assert opened.status == m.AWAITING_APPROVAL == services.requests.get(opened.request_id).status
    assert member["email"] not in str(presenter.opened) and presenter.opened[0]["number"]  # shown masked
    with pytest.raises(NotAllowed):  # four eyes: not the requester
        use.approve(actor=services.policy.actor(SUPPORT), request_id=opened.request_id)
    assert use.approve(actor=_dpo(services), request_id=opened.request_id) is True
    assert queue.sent == [(opened.request_id, "access")]
    assert services.requests.get(opened.request_id).status == m.QUEUED
    with pytest.raises(AlreadyDecided):
        use.check_decidable(actor=_dpo(services), request_id=opened.request_id)

    job = dataclasses.replace(services.export_job(), delivery=presenter)
    assert job.run(request_id=opened.request_id, owner="test") == "done"
    assert job.run(request_id=opened.request_id, owner="test") == "skipped"  # a redelivery does nothing
    done = services.requests.get(opened.request_id)
    assert (done.status, done.file_id) == (m.DONE, f"F{opened.request_id}") and len(presenter.passphrases) == 1
    assert [s for what, _, s in presenter.shown] == [m.AWAITING_APPROVAL, m.QUEUED, m.RUNNING, m.DONE]


def test_an_erasure_request_is_previewed_erased_and_done_without_slack(app) -> None:  # noqa: ANN001
    services, presenter, queue = app
    member = unique_member(services.system.engine)
    opened = services.subject_requests.open(actor=services.policy.actor(SUPPORT), kind="erase",
                                            identity=member["member_number"], subject_type="member", club_code=None,
                                            channel_id="C0SUPPORT")
    preview = services.requests.get(opened.request_id).preview
    assert sum(t["rows"] for t in preview["tables"].values()) > 0
    assert services.subject_requests.approve(actor=_dpo(services), request_id=opened.request_id)
    job = dataclasses.replace(services.erasure_job(), delivery=presenter, queue=queue)
    job.run(request_id=opened.request_id, owner="test")
    final = services.requests.get(opened.request_id)
    assert final.status in (m.DONE, m.NOTIFYING) and presenter.reports == [final.result["rows"]] != [0]
    with services.system.engine.connect() as conn:
        assert conn.execute(text("SELECT email FROM members WHERE id = :i"), {"i": member["id"]}).scalar() is None


def test_a_refused_or_unshowable_request_is_not_left_open(app) -> None:  # noqa: ANN001
    services, presenter, _ = app
    member = unique_member(services.system.engine)
    use = services.subject_requests
    with pytest.raises(NotAllowed):
        use.open(actor=services.policy.actor(STRANGER), kind="access", identity=member["email"], subject_type="member",
                 club_code=None, channel_id="C0X")
    presenter.request_opened = lambda req, subject: (_ for _ in ()).throw(ConnectionError("slack down"))
    with pytest.raises(ConnectionError):
        use.open(actor=services.policy.actor(SUPPORT), kind="access", identity=member["email"], subject_type="member",
                 club_code=None, channel_id="C0X")
    with services.db.session() as s:
        statuses = s.execute(text("SELECT status, open_key FROM subject_requests")).all()
    assert [tuple(r) for r in statuses] == [(m.FAILED, None)]  # abandoned: it can be filed again

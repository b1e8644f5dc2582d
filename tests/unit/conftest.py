"""Fixtures of the unit layer: a seeded database on each engine; the use cases with fakes of the ports."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from dramatiq.brokers.stub import StubBroker
from slack_sdk import WebClient

from bootstrap.compose import Presenters, Services, build
from gdpr.core.db import make_engine
from gdpr.core.migrate import upgrade_database
from gdpr.core.settings import Settings
from tests.conftest import ROOT, SECRET
from tests.fakes import (
    FakeBreachPresenter,
    FakeBulkPresenter,
    FakeGrantPresenter,
    FakeHomePresenter,
    FakeOwed,
    FakeQueue,
    FakeRequestPresenter,
)
from tests.helpers import DPO


@pytest.fixture
def engine(db_url: str):
    """The seeded system database (SQLite and PostgreSQL, from `db_url`), disposed after the test."""
    e = make_engine(db_url, immediate=False)
    yield e
    e.dispose()


@dataclass
class App:
    """The use cases on a seeded database, with in-memory fakes of every port (no Slack, no broker)."""
    services: Services
    requests: FakeRequestPresenter
    bulk: FakeBulkPresenter
    breaches: FakeBreachPresenter
    queue: FakeQueue
    grants: FakeGrantPresenter

    def dpo(self):
        return self.services.policy.actor(DPO, frozenset({"S0DPOTEAM"}))

    def actor(self, user: str):
        return self.services.policy.actor(user)


@pytest.fixture
def app(sqlite_url: str, tmp_path: Path):
    """State and system in one SQLite file (the embedded default); mail goes to .eml files."""
    yield from _app(sqlite_url, tmp_path)


@pytest.fixture
def app_on(db_url: str, tmp_path: Path):
    """The same on each engine: one SQLite file, or one PostgreSQL database."""
    yield from _app(db_url, tmp_path)


def _app(url: str, tmp_path: Path):
    settings = Settings(database_url=url, secret_key=SECRET, export_dir=tmp_path / "exports",
                        outbox_dir=tmp_path / "outbox", config_dir=ROOT / "config")
    fakes = App(None, FakeRequestPresenter(), FakeBulkPresenter(), FakeBreachPresenter(), FakeQueue(),  # type: ignore[arg-type]
                FakeGrantPresenter())
    fakes.services = build(settings, broker=StubBroker(), slack=WebClient(base_url="http://127.0.0.1:9/"),
                           presenters=Presenters(fakes.requests, fakes.bulk, fakes.breaches, FakeOwed(), fakes.grants, FakeHomePresenter()),
                           queue=fakes.queue)
    upgrade_database(fakes.services.db)
    yield fakes
    fakes.services.close()

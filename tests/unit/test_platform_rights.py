"""The platform's side of restriction and rectification, on both engines: idempotent (a retried job or a replay
changes nothing twice, and says so), each correction checked against its column, a date compared as a date."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from gdpr.core.datamap import load_datamap
from gdpr.core.errors import UsageError
from gdpr.requests.rights import PlatformRights
from tests.conftest import ROOT
from tests.helpers import unique_member


def test_restrict_lift_and_rectify_are_idempotent_and_checked(engine) -> None:
    rights = PlatformRights(engine, load_datamap(ROOT / "config" / "datamap.yaml"))
    member = unique_member(engine)
    key = str(member["id"])
    at = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
    assert rights.restricted_since("member", key) is None
    assert rights.restrict("member", key, at) is True and rights.restrict("member", key, at) is False
    assert rights.restricted_since("member", key) == at.replace(tzinfo=None)
    assert rights.lift("member", key) is True and rights.lift("member", key) is False

    values = rights.check("member", {"Birth_Date": " 1990-03-02 ", "city": "Gent   Centrum"})
    assert values == {"birth_date": "1990-03-02", "city": "Gent Centrum"}
    assert rights.rectify("member", key, values) == ["birth_date", "city"]
    assert rights.rectify("member", key, values) == []  # already in effect (SQLite hands the date back as text)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT birth_date, city FROM members WHERE id = :i"), {"i": member["id"]}).one()
    assert str(row[0])[:10] == "1990-03-02" and row[1] == "Gent Centrum"
    for bad, said in (({"national_id": "x"}, "cannot be corrected"), ({"birth_date": "02/03/1990"}, "is a date"),
                      ({"email": "no address"}, "email address"), ({"city": "x" * 101}, "at most 100"),
                      ({}, "Say what to correct"), ({"city": " "}, "Give the corrected value")):
        with pytest.raises(UsageError, match=said) as refused:
            rights.check("member", bad)
        assert "02/03/1990" not in str(refused.value) and "no address" not in str(refused.value)  # never the value
    assert rights.receivers("member", ["email", "street"]) == {"club", "clubplanner"}
    assert rights.field_types("member")["email"][0] == "email" and rights.field_types("member")["birth_date"][0] == "date"

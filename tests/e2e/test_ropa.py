"""The record of processing activities (Art. 30(2)), on both backends: `/gdpr ropa` posts it as HTML and
JSON; it names every table and every column category of the data map (a category missing from it fails
here); it is versioned - the same record twice is one version, a new club makes the next one and says so;
support may not read it; a club reads its own part through the API."""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text

from bootstrap.runtime import api_app
from devslack.driver import wait_for
from gdpr.core.datamap import load_datamap
from tests.e2e.test_club_api import CLUB, Api, _token
from tests.helpers import DPO, SUPPORT, ephemerals


def _ropa(system, n: int) -> tuple[dict, str, str]:
    """The n-th /gdpr ropa post in the support channel: (the JSON record, the HTML, the comment)."""
    system.slack.command(DPO, "ropa")
    posts = wait_for(lambda: len(p := [m for m in system.standin.channel("C0SUPPORT") if m.get("files")
                                       and m["files"][0]["name"].startswith("ropa-")]) >= 2 * n and p,
                     timeout=20, what=f"ropa post {n}")
    html, record = posts[2 * n - 2]["files"][0], posts[2 * n - 1]["files"][0]
    return json.loads(Path(record["path"]).read_text()), Path(html["path"]).read_text(), posts[2 * n - 1]["text"]


def test_the_record_names_every_mapped_category_and_is_versioned(system, gym) -> None:
    datamap = load_datamap(Path(system.settings.config_dir) / "datamap.yaml")
    record, html, comment = _ropa(system, 1)
    assert "version 1" in comment and "first version" in comment
    for spec in datamap.tables.values():
        assert set(record["tables"][spec.name]) == {c.category for c in spec.columns.values()}, spec.name
        for col in spec.columns.values():
            entry = record["categories_of_processing"][col.category]
            assert spec.name in entry["tables"] and col.purpose in entry["purposes"] and col.basis in entry["bases"]
            assert col.category in html
    assert any(s["name"].startswith("Slack") for s in record["subprocessors"])  # a transfer of its own
    assert "Data Privacy Framework" in json.dumps(record["transfers"])  # and named where the transfers are told
    assert {c["code"] for c in record["controllers"]} >= {"ghent-centre", "antwerp-north"}
    assert record["security_measures"] and "dpo@gymplatform.example" in html

    assert "version 1" in _ropa(system, 2)[2]  # nothing changed: the same version
    with gym.begin() as conn:
        conn.execute(text("INSERT INTO clubs (id, code, name, country) VALUES (99, 'mechelen', 'Mechelen Fit', 'BE')"))
    _, _, comment = _ropa(system, 3)
    assert "version 2" in comment and "controllers: added mechelen" in comment

    system.slack.command(SUPPORT, "ropa")
    assert wait_for(lambda: any("not allowed" in e["text"] for e in ephemerals(system.standin, SUPPORT)), timeout=20,
                    what="support refused")


def test_a_club_reads_its_own_part_of_the_record(system, gym) -> None:
    server = Api(api_app(system.services))
    try:
        status, body, _ = server.call("GET", "/v1/ropa", _token(system, CLUB))
        assert status == 200 and [c["code"] for c in body["record"]["controllers"]] == [CLUB]
        assert body["record"]["categories_of_processing"] and body["version"] >= 1
        with gym.begin() as conn:  # another club joins: a new version, but not news for this club
            conn.execute(text("INSERT INTO clubs (id, code, name, country) VALUES (99, 'mechelen', 'Mechelen Fit', "
                              "'BE')"))
        status, body, _ = server.call("GET", "/v1/ropa", _token(system, CLUB))
        assert status == 200 and body["version"] >= 2 and "mechelen" not in json.dumps(body)
    finally:
        server.stop()

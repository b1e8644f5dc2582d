"""Offboarding's pure parts: the spec's order, the part-qualified checkpoint, the signed statement."""
from __future__ import annotations

import pytest

from gdpr.bulk.parts import by_part, split, tag
from gdpr.clubs.offboarding import offboard_spec
from gdpr.core.crypto import public_key_b64, sign_document, signing_key, verify_document
from tests.conftest import ROOT


def test_leads_go_first_because_a_members_erasure_reaches_the_lead_it_came_from() -> None:
    from gdpr.core.datamap import load_datamap
    spec = offboard_spec(load_datamap(ROOT / "config" / "datamap.yaml"), club_code="leuven", club_id="4", batch_size=50)
    assert [p["subject"] for p in spec.parts] == ["lead", "member"]
    assert {p["club_id"] for p in spec.parts} == {"4"} and all(p["max_share"] == 1.0 for p in spec.parts)
    assert spec.erases and spec.describe() == "club leuven, its leads and members"


def test_checkpoints_and_keys_carry_their_part() -> None:
    assert split(None) == (0, None) and split("1:204") == (1, "204")
    assert tag(1, [5, 7]) == ["1:5", "1:7"]
    assert by_part(["0:5", "1:5", "1:9"]) == {0: [5], 1: [5, 9]}  # a lead and a member with one number stay two


def test_a_statement_verifies_and_a_changed_byte_or_another_key_fails() -> None:
    key = signing_key(b"s" * 32, "offboarding-statement")
    doc = sign_document({"club": "leuven", "residue": 0}, key)
    published = [public_key_b64(key)]
    assert verify_document(doc, published)
    assert not verify_document(doc, [public_key_b64(signing_key(b"t" * 32, "offboarding-statement"))])
    forged = sign_document({"club": "leuven", "residue": 0}, signing_key(b"t" * 32, "offboarding-statement"))
    assert not verify_document(forged, published)  # it names its own key: never trusted for that
    doc["statement"]["residue"] = 1
    assert not verify_document(doc, published)


def test_a_signed_statement_is_handed_over_once_when_two_callers_settle_it_at_once() -> None:
    """The run's own job and the notice job that settled the last notice both reach `settle` with the
    statement signed and due (a CI run caught the club getting it twice): one hands it over; a hand-over
    Slack refused leaves it due for the next caller."""
    import json
    import threading
    from types import SimpleNamespace

    from gdpr.clubs.offboarding import OffboardingSteps
    from gdpr.core.datamap import load_datamap
    spec = offboard_spec(load_datamap(ROOT / "config" / "datamap.yaml"), club_code="leuven", club_id="4", batch_size=50)
    signed = sign_document({"club": "leuven"}, signing_key(b"s" * 32, "offboarding-statement"))
    stored = {"artifacts": {"statement_due": True, "statement": signed, "residue": 0}}
    lock = threading.Lock()

    class Runs:  # the row and its conditional update, as BulkRuns keeps them (JSON round trip included)
        def get(self, run_id):
            return SimpleNamespace(id=run_id, artifacts=json.loads(json.dumps(stored["artifacts"])), spec=spec.to_json())

        def claim_artifacts(self, *, run_id, expected, artifacts):
            with lock:
                if stored["artifacts"] != expected:
                    return False
                stored["artifacts"] = json.loads(json.dumps(artifacts))
                return True

        def update_artifacts(self, *, run_id, artifacts):
            stored["artifacts"] = json.loads(json.dumps(artifacts))

    handed, inside, second_done = [], threading.Event(), threading.Event()

    class Presenter:
        def statement_issued(self, run, statement):
            inside.set()
            assert second_done.wait(10)  # the other caller settles while this one is handing it over
            handed.append(statement)

    notices = SimpleNamespace(run_summary=lambda run_id: {"sent": 3})
    steps = OffboardingSteps(runs=Runs(), engine=None, exporter=None, datamap=None, notices=notices,  # type: ignore[arg-type]
                             presenter=Presenter(), ring=None, clock=None)  # type: ignore[arg-type]
    first = threading.Thread(target=steps.settle, args=(7,))
    first.start()
    assert inside.wait(10)
    assert steps.settle(7) is False  # the second caller: it is being handed over
    second_done.set()
    first.join(10)
    assert handed == [signed] and stored["artifacts"]["statement_delivered"] is True

    class Down:
        def statement_issued(self, run, statement):
            raise ConnectionError("slack down")
    stored["artifacts"] = {"statement_due": True, "statement": signed, "residue": 0}
    steps.presenter = Down()  # type: ignore[assignment]
    with pytest.raises(ConnectionError):  # Slack's refusal reaches the caller, as before
        steps.settle(7)
    assert stored["artifacts"]["statement_due"] is True and "statement_delivered" not in stored["artifacts"]

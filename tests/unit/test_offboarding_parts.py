"""Offboarding's pure parts: the spec's order, the part-qualified checkpoint, the signed statement."""
from __future__ import annotations

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

"""The residue check's recall: after an erasure, former identifiers planted in every kind of column -
mapped and unmapped, JSON, free text, a phone written another way, an IBAN with spaces - are all
found, in every table, on both engines; and a clean database reports nothing."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import event, text

from gdpr.core.datamap import load_datamap
from gdpr.core.db import make_engine
from gdpr.erasure.engine import ErasureEngine
from gdpr.erasure.residue import (
    MANY,
    Asked,
    Sought,
    ensure_indexes,
    joined_sql,
    pattern,
    residue_check,
    residue_checks,
    squeeze,
    text_tables,
)
from tests.conftest import ROOT


@pytest.fixture
def erased(engine):
    return _erase(engine)


def _erase(engine, n: int = 1):
    """A member with a phone and an IBAN, erased; their identifiers as the job held them (with `n`, the
    first of n such members, erased together; the others' identifiers as a list)."""
    datamap = load_datamap(ROOT / "config" / "datamap.yaml")
    erasure = ErasureEngine(engine, datamap)
    with engine.connect() as conn:
        members = conn.execute(text(
            "SELECT m.id, m.email, m.phone, m.first_name, m.last_name, b.iban FROM members m "
            "JOIN bank_accounts b ON b.member_id = m.id WHERE m.email IS NOT NULL AND m.phone IS NOT NULL "
            "AND (SELECT COUNT(*) FROM members o WHERE o.email = m.email) = 1 ORDER BY m.id LIMIT :n"),
            {"n": n}).mappings().all()
    assert len(members) == n
    ids = [erasure.identifiers(kind="member", key=str(m["id"])) for m in members]
    for m in members:
        erasure.erase(kind="member", key=str(m["id"]))
    if n > 1:
        return dict(members[0]), ids[0], datamap, erasure, [Sought("member", str(m["id"]), i)
                                                            for m, i in zip(members, ids, strict=True)]
    return dict(members[0]), ids[0], datamap, erasure


def _check(engine, erased):
    member, ids, datamap, erasure = erased
    return residue_check(engine, datamap, erasure, kind="member", key=str(member["id"]), identifiers=ids)


def _other_format(phone: str) -> str:
    """The same number as a person might write it: national, slashes and dots."""
    digits = re.sub(r"\D", "", phone)[-9:]
    return f"0{digits[:3]}/{digits[3:5]}.{digits[5:7]}.{digits[7:]}"


def _spaced(iban: str) -> str:
    compact = iban.replace(" ", "")
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4)).lower()


PLANTED = {("support_tickets", "body"): 3,  # the phone another way, the IBAN spaced, the full name
           ("support_tickets", "meta"): 1,  # inside JSON, in capitals
           ("support_tickets", "contact"): 2,  # a short unmapped column: as stored, digits only
           ("crm_leads", "email"): 1}  # a mapped identifier column of another record


def test_planted_identifiers_are_found_in_every_kind_of_column(engine, erased) -> None:
    assert _check(engine, erased).hits == []  # the erasure left nothing: the check says so
    _plant(engine, erased[0])
    assert {(h.table, h.column): h.rows for h in _check(engine, erased).hits} == PLANTED


def test_an_empty_table_is_not_read_and_is_read_once_it_holds_a_row(engine, erased) -> None:
    """The proof asks once which tables hold rows and reads only those; a table that was empty and now
    holds a former identifier is read and the identifier found, for one subject and shared."""
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE empty_notes (id INTEGER PRIMARY KEY, note VARCHAR(200))"))
    statements: list[str] = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731 - (conn, cursor, statement, ...)
    event.listen(engine, "before_cursor_execute", listen)
    try:
        assert _check(engine, erased).hits == []
        reads = [s for s in statements if "empty_notes" in s and not s.startswith("PRAGMA")]  # SQLite: its columns
        assert len(reads) == 1 and "EXISTS" in reads[0], reads  # asked whether it holds a row; not read
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO empty_notes (id, note) VALUES (1, :n)"), {"n": f"to {erased[0]['email']}"})
        assert _found(_check(engine, erased)) == {("empty_notes", "note"): 1}
        member, ids, datamap, erasure = erased
        assert _found(residue_checks(engine, datamap, erasure, [Sought("member", str(member["id"]), ids)] * 2)[1]) \
            == {("empty_notes", "note"): 1}
    finally:
        event.remove(engine, "before_cursor_execute", listen)


def test_the_optional_indexes_find_the_same_and_a_changed_table_is_still_searched(pg_url: str) -> None:
    """With `residue index` the check asks its trigram indexes (the plan shows them) and finds what it finds
    without them; a table whose columns changed after indexing is read instead, until the command runs
    again and replaces its index."""
    engine = make_engine(pg_url, immediate=False)
    erased = _erase(engine)
    _plant(engine, erased[0])
    made = ensure_indexes(engine, erased[2], progress=lambda _: None)
    assert {(h.table, h.column): h.rows for h in _check(engine, erased).hits} == PLANTED
    tickets = next(t for t in text_tables(engine) if t.name == "support_tickets")
    with engine.connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))  # a few rows: the index matches the check's text
        plan = conn.execute(text(f"EXPLAIN SELECT 1 FROM support_tickets WHERE "
                                 f"{joined_sql(conn, [c for c, _ in tickets.cols], squeeze=True)} LIKE '%abcdef%'")).scalars().all()
        assert any("Bitmap Index Scan on gdpr_residue_support_tickets_text_" in line for line in plan), plan
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE support_tickets ADD COLUMN note VARCHAR(200)"))
        conn.execute(text("INSERT INTO support_tickets (id, note) VALUES (7, :n)"), {"n": f"mail {erased[0]['email']}"})
    assert ("support_tickets", "note") in {(h.table, h.column) for h in _check(engine, erased).hits}
    again = ensure_indexes(engine, erased[2], progress=lambda _: None)
    stale = set(made) - set(again)
    assert len(stale) == 1 and next(iter(stale)).startswith("gdpr_residue_support_tickets_text_")
    with engine.connect() as conn:
        present = set(conn.execute(text("SELECT indexname FROM pg_indexes WHERE indexname LIKE 'gdpr_residue%'")).scalars())
    assert present == set(again)
    engine.dispose()


def _found(residue) -> dict[tuple[str, str], int]:
    return {(h.table, h.column): h.rows for h in residue.hits}


def test_one_shared_proof_for_many_finds_each_subjects_hits_and_only_theirs(engine) -> None:
    """Five members erased together, proven by one shared pass: the identifiers planted for the first are
    found for the first alone, in every kind of column, exactly as its own proof finds them; the others
    are clean, and each result (hits and namesakes) equals that subject's own proof."""
    member, _, datamap, erasure, sought = _erase(engine, 5)
    assert [r.hits for r in residue_checks(engine, datamap, erasure, sought)] == [[]] * 5
    _plant(engine, member)
    shared = residue_checks(engine, datamap, erasure, sought)
    assert [_found(r) for r in shared] == [PLANTED, {}, {}, {}, {}]
    alone = [residue_check(engine, datamap, erasure, kind=s.kind, key=s.key, identifiers=s.identifiers) for s in sought]
    assert [(r.hits, r.namesakes) for r in shared] == [(r.hits, r.namesakes) for r in alone]


def test_a_shared_proof_through_the_indexes_finds_the_same_and_reads_a_changed_table(pg_url: str) -> None:
    """On PostgreSQL with `residue index`: the shared pass asks the trigram indexes and finds the planted
    identifiers for their subject only, for a few subjects (one connection) and for many (the tables read
    over several); a table whose columns changed after indexing is read whole."""
    engine = make_engine(pg_url, immediate=False)
    member, _, datamap, erasure, sought = _erase(engine, MANY)
    _plant(engine, member)
    ensure_indexes(engine, datamap, progress=lambda _: None)
    for few in (sought[:4], sought):
        assert [_found(r) for r in residue_checks(engine, datamap, erasure, few)] == [PLANTED] + [{}] * (len(few) - 1)
    third = sought[2]
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE support_tickets ADD COLUMN note VARCHAR(200)"))
        conn.execute(text("INSERT INTO support_tickets (id, note) VALUES (7, :n)"),
                     {"n": f"mail {next(v for v in third.identifiers.values if '@' in v)}"})
    for few in (sought[:4], sought):
        found = [_found(r) for r in residue_checks(engine, datamap, erasure, few)]
        assert found == [PLANTED, {}, {("support_tickets", "note"): 1}] + [{}] * (len(few) - 3)
    engine.dispose()


def test_the_index_is_asked_for_each_identifier_without_separators_less_those_another_holds() -> None:
    """A phone as written holds its last nine digits, an email the name, a national number its digits: one
    lookup finds the rows of all of them (each row is then tested for the identifiers themselves), and only
    for the subjects one of whose identifiers holds what found it."""
    first = ["+32 476 40 16 52", "476401652", "anne van daele", "anne.vandaele6240@outlook.com",
             "59.07.08-694.98", "070869498", "be68 5390 0754 7034", "m0006240", "mandate-00006240"]
    second = ["+32 470 12 34 56", "470123456", "jan peeters", "jan.peeters@example.org", "m0006240x"]
    asked = Asked.of([first, second])
    assert asked.patterns == ["m0006240", "070869498", "470123456", "476401652", "janpeeters", "annevandaele",
                              "mandate00006240", "be68539007547034"]
    assert asked.owners["m0006240"] == {0, 1} and asked.owners["janpeeters"] == {1}
    assert asked.owners["annevandaele"] == asked.owners["476401652"] == {0}
    # a row that holds a literal holds it without separators, so holds a pattern that lists its subject
    assert all(any(k in squeeze(v) and i in asked.owners[k] for k in asked.patterns)
               for i, own in enumerate([first, second]) for v in own)


def _plant(engine, member) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE support_tickets (id INTEGER PRIMARY KEY, body TEXT, meta JSON, "
                          "contact VARCHAR(60))"))
        rows = [(1, f"Caller gave {_other_format(member['phone'])} as callback", None, None),
                (2, f"Refund to {_spaced(member['iban'])} please", None, None),
                (3, "nothing here", '{"from": "' + member["email"].upper() + '"}', None),
                (4, f"Spoke with {member['first_name']} {member['last_name']} today", None, None),
                (5, None, None, member["email"]),
                (6, None, None, "tel:+" + re.sub(r"\D", "", member["phone"]))]  # a short column: digits only
        for row in rows:
            conn.execute(text("INSERT INTO support_tickets (id, body, meta, contact) VALUES (:i, :b, :m, :c)"),
                         dict(zip("ibmc", row, strict=True)))
        conn.execute(text("UPDATE crm_leads SET email = :e WHERE id = (SELECT MIN(id) FROM crm_leads "
                          "WHERE converted_member_id IS NULL)"), {"e": member["email"]})  # a mapped column


@pytest.mark.parametrize("value, found, missed", [
    ("+32 470 12 34 56", ["tel 0470 12 34 56", "+32470123456", "0470/12.34.56", "(0)470-12-34-56"],
     ["0470 12 34 57", "470 12 34"]),
    ("be68 5390 0754 7034", ["be68539007547034", "be68 5390 0754 7034"], ["be68 5390 0754 7035"]),
    ("jan.peeters@example.org", ["mail: jan.peeters@example.org!"], ["janxpeeters@example.org"]),
])
def test_each_identifier_becomes_one_regular_expression(value: str, found: list[str], missed: list[str]) -> None:
    regex = re.compile(pattern(value))
    assert all(regex.search(t) for t in found) and not any(regex.search(t) for t in missed)

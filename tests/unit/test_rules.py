"""Pure rules: deadlines, grammar, identity parsing, masking."""
from __future__ import annotations

import datetime as dt

import pytest

from bot.grammar import Command, parse
from gdpr.core.errors import UsageError
from gdpr.core.masking import mask_email, mask_name, mask_phone
from gdpr.core.subjects import Identity, parse_identity
from gdpr.requests.duedates import add_one_month

PATTERNS = [r"^M\d{7}$"]


@pytest.mark.parametrize("received, due", [
    (dt.date(2026, 1, 31), dt.date(2026, 2, 28)),
    (dt.date(2028, 1, 31), dt.date(2028, 2, 29)),
    (dt.date(2026, 3, 31), dt.date(2026, 4, 30)),
    (dt.date(2026, 12, 15), dt.date(2027, 1, 15)),
    (dt.date(2026, 11, 26), dt.date(2026, 12, 26)),
])
def test_one_calendar_month_clamps_to_the_last_day(received: dt.date, due: dt.date) -> None:
    assert add_one_month(received) == due


@pytest.mark.parametrize("text, expected", [
    ("", Command("help")),
    ("help", Command("help")),
    ("find jan@x.be", Command("find", "jan@x.be")),
    ("access M0000012 --club ghent-centre", Command("access", "M0000012", "member", "ghent-centre")),
    ("access lead lead@x.be", Command("access", "lead@x.be", "lead")),
    ("find +32 470 12 34 56", Command("find", "+32 470 12 34 56")),
    ("grant M0000012 2H ticket 44: refund", Command("grant", "M0000012", options=(("duration", "2h"),
                                                                              ("reason", "ticket 44: refund")))),
    ("grant lead l@x.be 30m check --club gent", Command("grant", "l@x.be", "lead", "gent",
                                                        (("duration", "30m"), ("reason", "check")))),
    ("grants", Command("grants")),
    ("revoke g-12 case closed", Command("revoke", "12", options=(("reason", "case closed"),))),
    ("revoke G12", Command("revoke", "12")),
    ("club offboard Leuven", Command("club offboard", "leuven", options=(("choice", "return-and-delete"),))),
    ("club offboard Leuven delete-only", Command("club offboard", "leuven", options=(("choice", "delete-only"),))),
    ("club offboard leuven Return-Only", Command("club offboard", "leuven", options=(("choice", "return-only"),))),
    ("club token create leuven --ip 10.0.0.0/8", Command("club token create", "leuven", options=(("ip", "10.0.0.0/8"),))),
])
def test_grammar(text: str, expected: Command) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize("text", ["access", "access a b", "find --club", "nope x", "find " + "x" * 501,
                                  "access --club x", "grant M1 2h", "grant M1", "grants all", "revoke", "revoke R-12",
                                  "revoke 12x", "club offboard", "club offboard a b", "club offboard a delete"])
def test_grammar_rejects_with_usage(text: str) -> None:
    with pytest.raises(UsageError):
        parse(text)


@pytest.mark.parametrize("raw, identity", [
    ("<mailto:Jan@X.be|Jan@X.be>", Identity("email", "jan@x.be")),
    ("jan@x.be", Identity("email", "jan@x.be")),
    ("m0000012", Identity("number", "M0000012")),
    ("+32 470 12 34 56", Identity("phone", "32470123456")),
    ("<tel:+32470123456|+32 470 12 34 56>", Identity("phone", "32470123456")),
])
def test_identity_parsing(raw: str, identity: Identity) -> None:
    assert parse_identity(raw, PATTERNS) == identity


@pytest.mark.parametrize("raw", ["hello", "12", "<!channel>", "a" * 300])
def test_identity_parsing_refuses_garbage(raw: str) -> None:
    with pytest.raises(UsageError):
        parse_identity(raw, PATTERNS)


def test_masking_hides_all_but_a_hint() -> None:
    assert mask_name("Jan Van Damme") == "J••• V••• D•••"
    assert mask_email("jan.peeters@telenet.be") == "j•••@t•••.be"
    assert mask_phone("+32 470 12 34 56") == "••••••56"
    assert "*" not in mask_name("Ann") + mask_email("a@b.cd")  # never mrkdwn bold

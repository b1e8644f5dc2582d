"""Breach input: the command grammar, breach numbers, and the report modal's validation."""
from __future__ import annotations

import datetime as dt

import pytest

from bot.breach_forms import read_facts
from bot.grammar import parse
from gdpr.breaches.service import parse_ref
from gdpr.core.errors import UsageError
from tests.e2e.test_breaches import facts

NOW = dt.datetime.now(dt.UTC)


def _view(values: dict) -> dict:
    return {"state": {"values": {b: {"value": v if isinstance(v, dict) else {"type": "plain_text_input", "value": v}}
                                 for b, v in values.items()}}}


def test_grammar_and_numbers() -> None:
    assert parse("breach").name == "breach"
    assert (parse("breach show b-12").name, parse("breach show b-12").identity) == ("breach show", "b-12")
    for bad in ("breach delete B-1", "breach show", "breach list all", "breach close"):
        with pytest.raises(UsageError, match="Usage"):
            parse(bad)
    assert parse_ref("b-12") == parse_ref("12") == 12
    with pytest.raises(UsageError, match="not a breach number"):
        parse_ref("B-twelve")


def test_a_complete_report_is_read() -> None:
    got, errors = read_facts(_view(facts()), NOW)
    assert errors == {} and got.approx_people == 420 and got.clubs == ["1", "2", "5"]
    assert got.aware_at > got.detected_at and got.kinds == ["confidentiality"]


@pytest.mark.parametrize("override, field", [
    ({"aware": {"type": "datetimepicker", "selected_date_time": int((NOW + dt.timedelta(days=1)).timestamp())}}, "aware"),
    ({"detected": {"type": "datetimepicker", "selected_date_time": int(NOW.timestamp())},
      "aware": {"type": "datetimepicker", "selected_date_time": int((NOW - dt.timedelta(hours=3)).timestamp())}}, "aware"),
    ({"records": {"type": "number_input", "value": "-4"}}, "records"),
    ({"kinds": {"type": "checkboxes", "selected_options": []}}, "kinds"),
    ({"measures": "  "}, "measures"),
])
def test_each_mistake_is_shown_next_to_its_field(override: dict, field: str) -> None:
    got, errors = read_facts(_view(facts(**override)), NOW)
    assert got is None and field in errors

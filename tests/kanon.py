"""k over what anonymised rows keep, counted here independently of gdpr/erasure/engine/anonymity.py.

The definition README states: a row erased at level L is compatible with a live row whose values, cut
to L, are its own; with another anonymised row when both, cut to the coarser of their levels, agree (a
NULL kept value constrains nothing). A kept value's level is the coarsest one it is a fixed point of.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, text

# The members table of config/datamap.yaml: each quasi column's levels, finest first.
LADDERS = {"club_id": ["exact"], "country": ["exact"], "birth_date": ["year", "decade"], "postcode": [2],
           "joined_on": ["month", "year", "decade"], "ended_on": ["month", "year"],
           "created_at": ["month", "year", "decade"]}


def _day(value: object) -> object:
    if value is None or isinstance(value, (int, float)):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text_value = str(value)
    if len(text_value) >= 10 and text_value[4] == "-" and text_value[7] == "-":
        return dt.date.fromisoformat(text_value[:10])
    return text_value


def cut(value: object, level: object) -> object:
    if value is None or level == "exact":
        return value
    if isinstance(level, int):
        return str(value)[:level]
    day = _day(value)
    assert isinstance(day, dt.date), value
    return {"month": day.replace(day=1), "year": dt.date(day.year, 1, 1),
            "decade": dt.date(day.year - day.year % 10, 1, 1)}[level]


def level_of(col: str, value: object) -> object:
    found = LADDERS[col][0]
    for level in LADDERS[col]:
        if cut(value, level) == _day(value):
            found = level
    return found


def coarser(col: str, a: object, b: object) -> object:
    ladder = LADDERS[col]
    return a if ladder.index(a) >= ladder.index(b) else b


def k_per_erased_member(engine: Engine) -> dict[int, int]:
    """{member id: k} for every erased member row, against the whole members table."""
    cols = list(LADDERS)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(text(f"SELECT id, status, {', '.join(cols)} FROM members")).mappings()]
    out = {}
    for a in (r for r in rows if r["status"] == "erased"):
        kept = {c: (a[c], level_of(c, a[c])) for c in cols if a[c] is not None}
        k = 0
        for r in rows:
            if r["club_id"] != a["club_id"]:
                continue
            ok = True
            for c, (value, level) in kept.items():
                if r["status"] != "erased":
                    ok = cut(r[c], level) == _day(value)
                elif r[c] is not None:
                    both = coarser(c, level, level_of(c, r[c]))
                    ok = cut(r[c], both) == cut(value, both)
                if not ok:
                    break
            k += ok
        out[a["id"]] = k
    return out

"""The one Jinja2 environment: StrictUndefined, autoescape for HTML, named filters."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from gdpr.core.masking import mask_email


def _date(value: dt.date | dt.datetime | str | None, fmt: str = "%d %B %Y") -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return value.strftime(fmt)


def make_environment(templates_dir: Path) -> Environment:
    env = Environment(loader=FileSystemLoader(str(templates_dir)), undefined=StrictUndefined,
                      autoescape=select_autoescape(["html", "htm", "xml", "html.j2"]), trim_blocks=True,
                      lstrip_blocks=True)
    env.filters["mask_email"] = mask_email
    env.filters["date"] = _date
    return env

"""Other people's data in a subject's own copy (Art. 15(4): the copy "shall not adversely affect the rights
and freedoms of others").

The data map marks, per column, what belongs to someone else: `third_party: withhold` leaves the column out
of the copy (an emergency contact's name and number), `third_party: redact` hands free text over with what
names or reaches another person replaced (a staff note: another member's name, a colleague, an address or a
number that is not the subject's own). What was kept back, and why, is counted for the summary. The club, as
the controller, keeps everything: its own copy (offboarding) is whole."""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from gdpr.core.names import first_names

REDACTED = "[redacted]"
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d[\d ./()-]{6,}\d")
# a capitalised word, then (a surname) up to two more, with their particles (van, de, le …)
_WORD = r"[A-ZÀ-Þ][a-zß-ÿ'’]+(?:-[A-ZÀ-Þ]?[a-zß-ÿ'’]+)*"
_NAME = re.compile(rf"\b({_WORD})((?:\s+(?:(?:van|de|der|den|le|la|du|von|zu|ter|ten)\s+)*{_WORD}){{0,2}})")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|\n\s*)$")


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


class Redactor:
    """Replaces, in a free text about the subject, what names or reaches somebody else; the subject's own
    name, address and number stay (they are theirs)."""

    def __init__(self, own: Iterable[object], patterns: Sequence[str] = ()) -> None:
        values = [str(v) for v in own if v not in (None, "")]
        self._own_words = {w.lower() for v in values for w in re.findall(r"[^\W\d_]+", v)}
        self._own_emails = {v.lower() for v in values if "@" in v}
        self._own_phones = {_digits(v)[-8:] for v in values if len(_digits(v)) >= 8}
        self._patterns = [re.compile(p, re.IGNORECASE) for p in patterns]

    def __call__(self, text: str) -> tuple[str, int]:
        """The text with other people's details replaced, and how many were."""
        found = 0

        def redact(match: re.Match[str]) -> str:
            nonlocal found
            if self._own(match):
                return match.group(0)
            found += 1
            return REDACTED

        for pattern in (*self._patterns, _EMAIL, _PHONE, _NAME):
            text = pattern.sub(redact, text)
        return text, found

    def _own(self, match: re.Match[str]) -> bool:
        """The subject's own detail (or no person's: a short number, a capitalised word that is no name)."""
        value = match.group(0)
        if match.re is _EMAIL:
            return value.lower() in self._own_emails
        if match.re is _PHONE:
            return len(_digits(value)) < 8 or _digits(value)[-8:] in self._own_phones
        if match.re is _NAME:
            words = re.findall(r"[^\W\d_]+", value.lower())
            if match.group(1).lower() not in first_names() or all(w in self._own_words for w in words):
                return True
            # a first name alone opening a sentence is as likely a word ("Said", "Will"): a name needs a surname there
            return not match.group(2) and bool(_SENTENCE_START.search(match.string[:match.start()]))
        return False


@dataclass
class KeptBack:
    """What a subject's copy left out for others (Art. 15(4)), for its summary and its data.json."""
    withheld: dict[str, dict] = field(default_factory=dict)  # table -> {"columns": [...], "rows": n}
    redacted: dict[str, dict] = field(default_factory=dict)  # table -> {"column": c, "passages": n, "rows": n}

    def __bool__(self) -> bool:
        return bool(self.withheld or self.redacted)

    def as_json(self) -> dict:
        return {"withheld": self.withheld, "redacted": self.redacted}

"""The Jinja2 templates, in each club's language.

One environment per language (StrictUndefined, autoescape for HTML, the named filters), each with that
language's gettext catalog (`templates/locale/<language>.po`, read with Babel; English is the source and
has none) through Jinja2's i18n extension, and dates written that language's way. Which language a club
reads is `language:` in config/clubs.yaml (English when unset)."""
from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Mapping
from pathlib import Path

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from jinja2 import BytecodeCache, Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape
from jinja2.bccache import Bucket

from gdpr.core.masking import mask_email

SOURCE = "en"
LANGUAGES = ("en", "nl", "fr", "de")
# A day, and a moment (always in UTC), each language's way.
_DATE = {"en": "dd MMMM y", "nl": "d MMMM y", "fr": "d MMMM y", "de": "d. MMMM y"}
_MOMENT = {"en": "dd MMMM y 'at' HH:mm 'UTC'", "nl": "d MMMM y 'om' HH:mm 'UTC'",
           "fr": "d MMMM y 'à' HH:mm 'UTC'", "de": "d. MMMM y 'um' HH:mm 'UTC'"}


def catalog_path(folder: Path, language: str) -> Path:
    return folder / "locale" / f"{language}.po"


def translations(folder: Path, language: str) -> NullTranslations:
    """The language's catalog as gettext translations; a fuzzy or empty entry is not used (its English
    source shows, which the template test refuses)."""
    if language == SOURCE:
        return NullTranslations()
    with open(catalog_path(folder, language), "rb") as fh:
        catalog = read_po(fh, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled)


def _date_filter(language: str) -> Callable[[dt.date | dt.datetime | str | None, str | None], str]:
    def _date(value: dt.date | dt.datetime | str | None, fmt: str | None = None) -> str:
        if value is None:
            return "—"
        if isinstance(value, str):
            return value
        if fmt is not None:  # an explicit strftime format: the English-only documents (the record of processing)
            return value.strftime(fmt)
        return format_date(value, _DATE[language], locale=language)
    return _date


def _moment_filter(language: str) -> Callable[[dt.datetime | None], str]:
    def _moment(value: dt.datetime | None) -> str:
        if value is None:
            return "—"
        return format_datetime(value, _MOMENT[language], tzinfo=dt.UTC, locale=language)
    return _moment


def _labels(codes: list[str], names: Mapping[str, str]) -> list[str]:
    """Codes (a breach's kinds, say) as the template names them in its language; an unknown one as it is."""
    return [names.get(code, code) for code in codes]


class _Compiled(BytecodeCache):
    """Compiled templates, kept in memory and shared by every environment of the process: one per language,
    and one more for each bot a process starts (the CLI's template check, the tests). Jinja keys a template by
    its name and file, and compiles it again when the file's source changed; every environment here is made
    with the same options by `make_environment`, so the code compiled for one is the code for the others."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)  # ignored when the source's checksum differs

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_COMPILED = _Compiled()


def make_environment(templates_dir: Path, language: str = SOURCE) -> Environment:
    if language not in LANGUAGES:
        raise ValueError(f"language {language!r}: one of {', '.join(LANGUAGES)}")
    env = Environment(loader=FileSystemLoader(str(templates_dir)), undefined=StrictUndefined,
                      autoescape=select_autoescape(["html", "htm", "xml", "html.j2"]), trim_blocks=True,
                      lstrip_blocks=True, extensions=["jinja2.ext.i18n"], bytecode_cache=_COMPILED)
    env.install_gettext_translations(translations(templates_dir, language), newstyle=True)  # type: ignore[attr-defined]
    env.globals["language"] = language
    env.filters["mask_email"] = mask_email
    env.filters["labels"] = _labels
    env.filters["date"] = _date_filter(language)
    env.filters["moment"] = _moment_filter(language)
    return env


class Templates:
    """The templates in every language, and which language each club reads (config/clubs.yaml)."""

    def __init__(self, folder: Path, languages: Mapping[str, str] | None = None) -> None:
        self.folder = folder
        self._clubs = dict(languages or {})
        self._environments: dict[str, Environment] = {}

    def language(self, club_code: str | None) -> str:
        """The language the club reads; English for a club that set none (or no club)."""
        return self._clubs.get(str(club_code), SOURCE) if club_code is not None else SOURCE

    def environment(self, language: str = SOURCE) -> Environment:
        if language not in self._environments:
            self._environments[language] = make_environment(self.folder, language)
        return self._environments[language]

    def get_template(self, name: str, language: str = SOURCE) -> Template:
        return self.environment(language).get_template(name)

    def render(self, template: str, /, language: str = SOURCE, **context: object) -> tuple[str, str | None]:
        """The text and, where the template sets one (`{% set subject %}`), its subject line."""
        module = self.get_template(template, language).make_module(dict(context))
        subject = getattr(module, "subject", None)
        return str(module), (" ".join(str(subject).split()) if subject is not None else None)

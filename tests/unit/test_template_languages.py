"""The member- and club-facing templates in every language (issue 26, item 2; with the notice of a lifted
restriction, item 4): every message of every
template is in each catalog, translated, not fuzzy, with the same placeholders, article numbers and the
GDPR's own names for its terms in that language; every template renders in every language with every
placeholder filled (StrictUndefined refuses a missing one), and no English message is left in a
translated rendering."""
from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po
from jinja2.ext import babel_extract

from gdpr.breaches.config import KINDS, SUBJECT_CATEGORIES
from gdpr.core.templating import LANGUAGES, SOURCE, Templates, catalog_path
from tests.conftest import ROOT
from tests.unit.template_contexts import (
    CONTEXTS,
    breach_club_notice,
    breach_member_notice,
    refusal_notice,
)

pytestmark = pytest.mark.fast
FOLDER = ROOT / "templates"
TRANSLATED = [lang for lang in LANGUAGES if lang != SOURCE]
# The regulation's own words for its terms, per language (the official texts of Regulation (EU) 2016/679),
# as patterns (a plural is the same term).
LEGAL_NAMES = {
    r"\bGDPR\b": {"nl": "AVG", "fr": "RGPD", "de": "DSGVO"},
    r"supervisory authority": {"nl": "toezichthoudende autoriteit", "fr": "autorité de contrôle",
                               "de": "Aufsichtsbehörde"},
    r"data protection officer": {"nl": "functionaris voor gegevensbescherming",
                                 "fr": "délégué à la protection des données", "de": "Datenschutzbeauftragte"},
    r"personal data breach": {"nl": "inbreuk in verband met persoonsgegevens",
                              "fr": "violation de données à caractère personnel",
                              "de": "Verletzung des Schutzes personenbezogener Daten"},
    r"\bcontroller\b": {"nl": "verwerkingsverantwoordelijke", "fr": "responsable du traitement",
                        "de": "Verantwortliche"},
    r"\bprocessor\b": {"nl": "verwerker", "fr": "sous-traitant", "de": "Auftragsverarbeiter"},
    r"\bdata subject": {"nl": "betrokkene", "fr": "personnes? concernées?", "de": "betroffene"},
}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _messages() -> dict[str, list[str]]:
    """Every message of every template, as Babel extracts it (what `pybabel extract` would put in a .pot)."""
    found: dict[str, list[str]] = {}
    options = {"trim_blocks": "true", "lstrip_blocks": "true", "extensions": "jinja2.ext.i18n"}
    for name in CONTEXTS:
        with open(FOLDER / name, "rb") as fh:
            for lineno, _, message, _ in babel_extract(fh, ("_", "gettext"), [], options):
                found.setdefault(message, []).append(f"{name}:{lineno}")
    return found


def _catalog(language: str) -> dict[str, tuple[str, bool]]:
    with open(catalog_path(FOLDER, language), "rb") as fh:
        catalog = read_po(fh, locale=language)
    return {msg.id: (msg.string, msg.fuzzy) for msg in catalog if msg.id}


def _citations(text: str) -> list[str]:
    """Article numbers with their paragraphs and points, and every other number: what must not change."""
    return sorted(re.findall(r"\d+|(?<!\w)\([a-z]\)", PLACEHOLDER.sub("", text)))  # not a plural's "row(s)"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_with_its_placeholders_articles_and_legal_names(language: str) -> None:
    messages, catalog = _messages(), _catalog(language)
    assert len(messages) > 60
    assert sorted(set(messages) - set(catalog)) == []  # a message added to a template and not translated
    assert sorted(set(catalog) - set(messages)) == []  # a stale message the templates no longer have
    for source, (text, fuzzy) in catalog.items():
        assert text and not fuzzy, (language, source)
        assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(source)), (language, source)
        assert _citations(text) == _citations(source), (language, source)
        assert len(re.findall(r"\bArt\.", text, re.IGNORECASE)) == source.count("Art."), (language, source)
        bare = PLACEHOLDER.sub("", source)
        for term, names in LEGAL_NAMES.items():
            if re.search(term, bare):
                assert re.search(names[language], text, re.IGNORECASE), (language, names[language], source)
        assert "GDPR" not in text


def _renderings(templates: Templates, language: str) -> list[tuple[str, str, str | None]]:
    """Each template with every placeholder filled, and the branches the defaults skip (a first notice,
    no delay, an unassessed risk, a nameless member, each kind of request)."""
    cases = [(name, make()) for name, make in CONTEXTS.items()]
    first = breach_club_notice(phase=1, late=False)
    first["breach"].risk = "not_high"
    cases += [("breach_club_notice.txt.j2", first), ("breach_member_notice.txt.j2", {**breach_member_notice(), "name": None})]
    cases += [("refusal_notice.txt.j2", refusal_notice(kind)) for kind in ("erase", "withdraw", "object")]
    return [(name, *templates.render(name, language, **context)) for name, context in cases]


def _fragments(message: str) -> list[str]:
    """The literal runs of a message long enough to be recognised in a rendering."""
    return [part.strip() for part in PLACEHOLDER.split(message)[::2] if len(part.strip()) >= 12]


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_template_renders_in_the_language_with_no_english_message_left(language: str) -> None:
    templates, catalog = Templates(FOLDER), _catalog(language)
    rendered = _renderings(templates, language)
    english = "\n".join(body + (subject or "") for _, body, subject in _renderings(templates, SOURCE))
    everything = "\n".join(body + "\n" + (subject or "") for _, body, subject in rendered)
    for source, (text, _) in catalog.items():
        for fragment in _fragments(source):
            assert fragment not in everything, (language, fragment)
        for fragment in _fragments(text):
            assert fragment in everything, (language, fragment)  # the catalog's text is what went out
    for short in ("Record", "Rows", "Category", "Kept", "member", "high", "What happened"):
        assert catalog[short][0] in everything
    # every breach kind and category the register knows has its label in the template (else its code shows)
    for label in (*KINDS.values(), *SUBJECT_CATEGORIES.values()):
        assert label in english and catalog[label][0] in everything
    assert english != everything
    subjects = {name: subject for name, _, subject in rendered if subject}
    assert set(subjects) == {"breach_club_notice.txt.j2", "breach_member_notice.txt.j2", "refusal_notice.txt.j2",
                             "restriction_lifted.txt.j2"}


def test_dates_are_written_the_language_s_way() -> None:
    templates = Templates(FOLDER)
    expect = {"en": ("04 March 2026 at 09:15 UTC", "10 February 2026"), "nl": ("4 maart 2026 om 09:15 UTC", "10 februari 2026"),
              "fr": ("4 mars 2026 à 09:15 UTC", "10 février 2026"), "de": ("4. März 2026 um 09:15 UTC", "10. Februar 2026")}
    for language, (moment, day) in expect.items():
        assert moment in templates.render("breach_club_notice.txt.j2", language, **breach_club_notice())[0]
        assert day in templates.render("refusal_notice.txt.j2", language, **refusal_notice())[0]
    assert '<html lang="de">' in templates.render("access_summary.html.j2", "de", **CONTEXTS["access_summary.html.j2"]())[0]


def test_a_club_reads_the_language_clubs_yaml_gives_it_and_english_otherwise() -> None:
    templates = Templates(FOLDER, {"leuven": "nl", "brussels-south": "fr"})
    assert [templates.language(c) for c in ("leuven", "brussels-south", "ghent-centre", None)] == ["nl", "fr", "en", "en"]


def test_clubs_yaml_refuses_a_language_it_has_no_catalog_for(tmp_path) -> None:
    from gdpr.clubs.config import load_clubs
    from gdpr.core.errors import ConfigError
    path = tmp_path / "clubs.yaml"
    path.write_text("version: 1\nclubs:\n  leuven: {language: nl}\n  bruges: {language: es}\n")
    with pytest.raises(ConfigError, match="language"):
        load_clubs(path)
    path.write_text("version: 1\nclubs:\n  leuven: {language: nl}\n  bruges: {delivery: api}\n")
    assert load_clubs(path).languages == {"leuven": "nl", "bruges": "en"}


def test_a_missing_or_broken_catalog_refuses_the_start_naming_the_file(tmp_path) -> None:
    import shutil

    from bootstrap.checks import check_templates
    from gdpr.core.errors import ConfigError
    folder = tmp_path / "templates"
    shutil.copytree(FOLDER, folder)
    check_templates(folder)
    (folder / "locale" / "fr.po").unlink()
    with pytest.raises(ConfigError, match=r"locale/fr\.po is missing"):
        check_templates(folder)


def test_no_template_has_words_outside_its_messages() -> None:
    """A sentence written outside `{% trans %}` or `_()` would go out in English in every language."""
    for name in CONTEXTS:
        source = (FOLDER / name).read_text()
        for pattern in (r"{% trans\b.*?{% endtrans %}", r"{%.*?%}", r"{{.*?}}", r"<style>.*?</style>", r"<[^>]+>"):
            source = re.sub(pattern, " ", source, flags=re.DOTALL)
        assert re.findall(r"[A-Za-z]{2,}", source) == [], name

"""The data map validates against the live schema and hunts unmapped personal data."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from gdpr.core.datamap import load_datamap
from gdpr.core.datamap_check import check_datamap
from gdpr.core.errors import ConfigError
from tests.conftest import ROOT, SECRET

MAP = ROOT / "config" / "datamap.yaml"



def _cli(db_url: str, config_dir: Path = ROOT / "config") -> subprocess.CompletedProcess:
    env = {"DATABASE_URL": db_url, "SECRET_KEY": SECRET, "CONFIG_DIR": str(config_dir), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "bootstrap.cli", "datamap", "check"], env=env, cwd=ROOT,
                          capture_output=True, text=True)


def test_reference_gym_passes(engine, db_url: str) -> None:
    assert check_datamap(load_datamap(MAP), engine).errors == []
    result = _cli(db_url)
    assert result.returncode == 0, result.stdout + result.stderr


def test_unmapped_mother_maiden_name_fails(engine, db_url: str) -> None:
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE members ADD COLUMN mother_maiden_name VARCHAR(80)"))
    result = _cli(db_url)
    assert result.returncode == 1 and "members.mother_maiden_name" in result.stdout


@pytest.mark.parametrize("values, label", [
    (["ann.peeters@telenet.be", "bob@gmail.com"], "emails"),
    (["+32 470 11 22 33", "0479 12 34 56"], "phone numbers"),
    (["BE71096123456769", "NL91ABNA0417164300"], "IBANs"),
    (["Kerkstraat 12", "Rue Neuve 3"], "addresses"),
    (["Emma Janssens", "Lucas Peeters"], "names"),
])
def test_personal_content_under_a_bland_name_is_found(engine, values: list[str], label: str) -> None:
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE visits ADD COLUMN extra VARCHAR(80)"))
        for i, v in enumerate(values * 10):
            conn.execute(text("UPDATE visits SET extra = :v WHERE id = :i"), {"v": v, "i": i + 1})
    errors = check_datamap(load_datamap(MAP), engine).errors
    assert errors == [f"visits.extra looks personal (sampled values look like {label}) but column is not mapped"]


def test_a_mapped_column_that_does_not_exist_fails(engine, tmp_path: Path) -> None:
    (tmp_path / "datamap.yaml").write_text(MAP.read_text().replace("      gender: {category: identity",
                                                                   "      sex: {category: identity"))
    errors = check_datamap(load_datamap(tmp_path / "datamap.yaml"), engine).errors
    line = next(i for i, text in enumerate((tmp_path / "datamap.yaml").read_text().splitlines(), 1)
                if text.startswith("      sex: {category: identity"))
    assert f"{tmp_path / 'datamap.yaml'}:{line}: tables.members.columns.sex: column 'members.sex' does not exist" in errors


def test_config_errors_name_file_line_and_key(tmp_path: Path) -> None:
    shown = "      email: {category: contact, erasure: erase, identifier: true, recipients: [club, clubplanner]}"
    bad = MAP.read_text().replace(shown, shown.replace("contact,", "kontact,"), 1)
    (tmp_path / "datamap.yaml").write_text(bad)
    line = bad.splitlines().index(shown.replace("contact,", "kontact,")) + 1
    with pytest.raises(ConfigError) as err:
        load_datamap(tmp_path / "datamap.yaml")
    assert f"datamap.yaml:{line}: tables.members.columns.email.category: unknown category 'kontact'" in str(err.value)
    (tmp_path / "datamap.yaml").write_text("tables: [unclosed\n")
    with pytest.raises(ConfigError, match=r"datamap.yaml:\d+: invalid YAML"):
        load_datamap(tmp_path / "datamap.yaml")


def test_the_bots_own_tables_are_never_taken_for_the_platforms(engine, db_url: str) -> None:
    from gdpr.core import models as m
    from gdpr.core.db import Database
    from gdpr.core.migrate import upgrade_database
    state = Database(db_url)  # the embedded default: the bot's state in the platform's database
    try:
        upgrade_database(state)
        with state.session() as s:
            for i in range(30):  # Slack message timestamps look like phone numbers to a content check
                s.execute(text("INSERT INTO shown_messages (ref, role, channel, ts, attempts) "
                               "VALUES (:ref, 'card', 'C0DPO', :ts, 0)"), {"ref": f"P-{i + 1}", "ts": f"17000000{i:02d}.000100"})
    finally:
        state.dispose()
    report = check_datamap(load_datamap(MAP), engine)
    said = " ".join(report.errors + report.warnings)
    assert report.errors == [] and not any(t in said for t in m.Base.metadata.tables), said


def test_third_party_marks_are_checked_and_free_text_without_one_is_flagged(engine, tmp_path: Path) -> None:
    """Art. 15(4): `third_party` is withhold or redact (redact only for free text), the patterns compile, and
    `datamap check` warns about free text that would go out to a subject as it is."""
    shipped = MAP.read_text()
    assert check_datamap(load_datamap(MAP), engine).warnings == []
    (tmp_path / "datamap.yaml").write_text(shipped.replace("third_party: withhold}", "third_party: hide}", 1))
    with pytest.raises(ConfigError, match="one of withhold, redact, not 'hide'"):
        load_datamap(tmp_path / "datamap.yaml")
    (tmp_path / "datamap.yaml").write_text(shipped.replace("contact_phone: {category: contact, erasure: erase, "
                                                           "third_party: withhold}",
                                                           "contact_phone: {category: contact, erasure: erase, "
                                                           "third_party: redact}"))
    with pytest.raises(ConfigError, match="redact is for free text"):
        load_datamap(tmp_path / "datamap.yaml")
    (tmp_path / "datamap.yaml").write_text(shipped.replace("  - 'staff #\\d+'", "  - 'staff #(\\d+'"))
    with pytest.raises(ConfigError, match=r"third_party_patterns.*not a regular expression"):
        load_datamap(tmp_path / "datamap.yaml")
    (tmp_path / "datamap.yaml").write_text(shipped.replace("body: {category: free_text, erasure: erase, third_party: redact}",
                                                           "body: {category: free_text, erasure: erase}"))
    warnings = check_datamap(load_datamap(tmp_path / "datamap.yaml"), engine).warnings
    assert sorted(w.split(" ")[0] for w in warnings) == ["crm_notes.body", "staff_notes.body"]
    assert all("third_party: redact" in w and "Art. 15(4)" in w for w in warnings)

"""What every process checks at start, and `gdpr-bot config check` prints: all of config/ (typed, no
unknown key), then the data map and the retention policies against the system database's live schema.
A problem is a ConfigError of one line naming the file, the line and the key: the process refuses to
start and says why, never with a traceback."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from bootstrap.config import Config, load_config
from gdpr.bulk.retention import RetentionConfig, check_against_schema
from gdpr.core.datamap import DataMap
from gdpr.core.datamap_check import named_errors
from gdpr.core.db import live_columns, make_engine
from gdpr.core.errors import ConfigError
from gdpr.core.settings import Settings


def check_live_schema(settings: Settings, datamap: DataMap, retention: RetentionConfig, engine: Engine) -> None:
    problems = _schema_problems(datamap, retention, engine)
    if problems:
        more = f" (and {len(problems) - 1} more; `gdpr-bot config check` lists them)" if len(problems) > 1 else ""
        raise ConfigError(f"{problems[0]}{more}")


def _schema_problems(datamap: DataMap, retention: RetentionConfig, engine: Engine) -> list[str]:
    """The live schema, read once (one catalog query on PostgreSQL), against the retention policies (the first
    mistake is raised) and the data map (every problem returned)."""
    live = live_columns(engine)
    _not_empty(datamap, live)
    check_against_schema(retention, live)
    return named_errors(datamap, live)


def _not_empty(datamap: DataMap, live: dict) -> None:
    """A system database with none of the data map's tables is the wrong one (or, for the demo, not seeded
    yet): said once, plainly, rather than as the first table a policy names."""
    if not set(live) & set(datamap.tables):
        raise ConfigError(f"SYSTEM_DATABASE_URL: the system database has none of the {len(datamap.tables)} tables "
                          f"the data map names (e.g. {sorted(datamap.tables)[0]}): point SYSTEM_DATABASE_URL at "
                          "your platform's database, or run `gdpr-bot seed --members 2000` for the synthetic demo gym")


def check_config(settings: Settings) -> tuple[Config, list[str]]:
    """All files and the templates, then the live schema; returns the config and every data-map problem
    (none: all good)."""
    config = load_config(settings)
    check_templates(settings.templates_dir())
    engine = make_engine(settings.system_url, immediate=False)
    try:
        return config, _schema_problems(config.datamap, config.retention, engine)
    finally:
        engine.dispose()


def check_templates(folder: Path) -> None:
    """Every template the bot renders is in TEMPLATES_DIR and compiles (a syntax error names file and line),
    and every language's catalog is there and reads."""
    from babel.messages.pofile import PoFileError
    from jinja2 import TemplateNotFound, TemplateSyntaxError

    from gdpr.core.templating import LANGUAGES, catalog_path, make_environment
    for language in LANGUAGES:
        try:
            env = make_environment(folder, language)
        except FileNotFoundError:
            raise ConfigError(f"TEMPLATES_DIR {folder}: {catalog_path(folder, language).relative_to(folder)} is missing "
                              "(`gdpr-bot init` writes every one)") from None
        except PoFileError as exc:
            raise ConfigError(f"{catalog_path(folder, language)}: {exc}") from None
        for name in TEMPLATES:
            try:
                env.get_template(name)
            except TemplateNotFound:
                raise ConfigError(f"TEMPLATES_DIR {folder}: {name} is missing (`gdpr-bot init` writes every one)") from None
            except TemplateSyntaxError as exc:
                raise ConfigError(f"{folder / name}:{exc.lineno}: {exc.message}") from None


TEMPLATES = ("access_summary.html.j2", "breach_club_notice.txt.j2", "breach_member_notice.txt.j2",
             "refusal_notice.txt.j2", "restriction_lifted.txt.j2", "ropa.html.j2")

"""What every process checks at start, and `gdpr-bot config check` prints: all of config/ (typed, no
unknown key), then the data map and the retention policies against the system database's live schema.
A problem is a ConfigError of one line naming the file, the line and the key: the process refuses to
start and says why, never with a traceback."""
from __future__ import annotations

from sqlalchemy import Engine

from bootstrap.compose import Config, load_config
from gdpr.datamap_check import named_errors
from gdpr.db import make_engine
from gdpr.errors import ConfigError
from gdpr.datamap import DataMap
from gdpr.retention import RetentionConfig, check_against_schema
from gdpr.settings import Settings


def check_live_schema(settings: Settings, datamap: DataMap, retention: RetentionConfig, engine: Engine) -> None:
    check_against_schema(retention, engine)
    problems = named_errors(datamap, engine)
    if problems:
        more = f" (and {len(problems) - 1} more; `gdpr-bot config check` lists them)" if len(problems) > 1 else ""
        raise ConfigError(f"{settings.resolved_config_dir() / 'datamap.yaml'}: {problems[0]}{more}")


def check_config(settings: Settings) -> tuple[Config, list[str]]:
    """All files, then the live schema; returns the config and every data-map problem (none: all good)."""
    config = load_config(settings)
    engine = make_engine(settings.system_url, immediate=False)
    try:
        check_against_schema(config.retention, engine)
        return config, named_errors(config.datamap, engine)
    finally:
        engine.dispose()

"""All of config/, read and checked: what every process does first (and refuses to start on), without
loading what it takes to run (Slack, the broker, the use cases)."""
from __future__ import annotations

from dataclasses import dataclass

from gdpr.breaches.config import BreachConfig, load_breach_config
from gdpr.bulk.retention import RetentionConfig, load_retention
from gdpr.clubs.config import load_clubs
from gdpr.core.access import AccessPolicy, load_policy
from gdpr.core.datamap import DataMap, load_datamap
from gdpr.core.settings import Settings
from gdpr.erasure.notices import Recipient, load_recipients


@dataclass(frozen=True)
class Config:
    """Every operator-edited file, validated (ConfigError names the file, the line and the key)."""
    datamap: DataMap
    retention: RetentionConfig
    policy: AccessPolicy
    breaches: BreachConfig
    recipients: dict[str, Recipient]
    deliveries: dict[str, str]  # club code -> slack | api | both (config/clubs.yaml)
    languages: dict[str, str]  # club code -> en | nl | fr | de (config/clubs.yaml)


def load_config(settings: Settings) -> Config:
    """Read and check all of config/; every process calls it at start and refuses to start on an error.
    Reads files only: nothing connects."""
    folder = settings.resolved_config_dir()
    datamap = load_datamap(folder / "datamap.yaml")
    clubs = load_clubs(folder / "clubs.yaml")
    return Config(datamap=datamap, retention=load_retention(folder / "retention.yaml", datamap),
                  policy=load_policy(folder / "roles.yaml"), breaches=load_breach_config(folder / "breaches.yaml"),
                  recipients=load_recipients(folder / "integrations.yaml"), deliveries=clubs.deliveries,
                  languages=clubs.languages)

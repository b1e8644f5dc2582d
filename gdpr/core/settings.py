"""Settings, read once from the environment (the interface contract in DESIGN.md)."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gdpr.core.errors import ConfigError
from gdpr.core.keyring import KeyRing, weakness

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# A wheel carries config/ and templates/ as gdpr/defaults/{config,templates}; a checkout has them at its root.
PACKAGED = Path(__file__).resolve().parents[1] / "defaults"


def packaged(folder: str) -> Path:
    """The shipped defaults: inside the installed package, else the checkout's own folder."""
    inside = PACKAGED / folder
    return inside if inside.is_dir() else PROJECT_ROOT / folder
LOCAL_SIGNING_SECRET = "local-standin-signing-secret"
LOCAL_BOT_TOKEN = "xoxb-local-standin"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    # unset: the local stand-in's, on the embedded demo only (`refusal()` stops every other start)
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = "sqlite:///var/gdpr-bot.sqlite3"
    system_database_url: str | None = None
    redis_url: str | None = None
    secret_key: SecretStr | None = None
    # after a rotation: the previous SECRET_KEY(s), comma-separated, newest first; they verify and open, never sign
    secret_key_fallbacks: SecretStr | None = None
    export_dir: Path = Path("var/exports")
    export_ttl_days: int = 7
    # where answered exports are kept: unset = EXPORT_DIR; s3://bucket/prefix = an S3-compatible bucket every
    # machine sees (needs the `s3` extra); S3_ENDPOINT_URL for MinIO, Ceph, ... (credentials: boto3's usual ones)
    export_store: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    # the clubs' API (`gdpr-bot api`): TLS belongs to the proxy in front; plain HTTP only from loopback unless allowed
    api_allow_http: bool = False
    api_rate_per_minute: int = 120  # per club
    api_rate_per_address: int = 60  # per client address, counted before the token is checked
    api_max_body_bytes: int = 32 * 1024  # larger bodies are refused (413) before a byte is read
    api_docs: bool = False  # interactive docs (/docs, /redoc, /openapi.json) on the API's port: off unless set
    # the proxies whose X-Forwarded-For / -Proto are believed (comma-separated addresses); the allow-lists
    # and the HTTPS rule then see the client, not the proxy
    trusted_proxies: str = "127.0.0.1"
    # /readyz and /metrics: an operations listener of their own, on loopback unless set (OPS_HOST=0.0.0.0
    # behind a private network); the bot's on OPS_PORT, the API's on API_OPS_PORT
    ops_host: str = "127.0.0.1"
    ops_port: int = 9300
    api_ops_port: int = 9301
    download_ttl_hours: int = 72  # a club's single-use download link
    smtp_url: str | None = None
    outbox_dir: Path = Path("var/outbox")  # mail on the embedded default (no SMTP_URL): .eml files
    breach_notice_backoff_seconds: float = 30.0  # first retry of a club notice; doubles, at most 15 minutes
    config_dir: Path | None = None  # unset: the packaged defaults; set to a missing folder: refuse to start
    templates_dir_override: Path | None = Field(default=None, validation_alias="TEMPLATES_DIR")
    allowed_ips: str | None = None
    # Job reliability knobs (DESIGN: the state DB leads, the queue follows). With these defaults a job
    # whose worker died runs again within lease + interval (45 s), one whose message the queue lost within
    # requeue_after + interval (45 s): under a minute. A re-sent message of a job that was only waiting
    # in a long queue is harmless: the claim lets one delivery run it.
    lease_seconds: int = 30
    residue_indexes: bool = True  # PostgreSQL: the scheduler builds and keeps the residue proof's indexes
    reconcile_interval_seconds: int = 15
    requeue_after_seconds: int = 30
    job_max_attempts: int = 5
    notice_max_attempts: int = 6
    notice_backoff_seconds: float = 2.0  # first retry; doubles each attempt, at most 15 minutes
    worker_threads: int = 2
    # `gdpr-bot backup`: where the encrypted state backups go (a mount of another server), how many are kept,
    # and their key (64 hex characters; unset: derived from SECRET_KEY)
    backup_dir: str = "var/backups"  # a folder, or s3://bucket/prefix
    backup_keep: int = 14
    backup_key: SecretStr | None = None
    # Dramatiq's Prometheus exposition of a worker process (`gdpr-bot worker`); unset: none
    worker_metrics_port: int | None = None

    @field_validator("database_url", "system_database_url")
    @classmethod
    def _postgres_scheme(cls, url: str | None) -> str | None:
        """`postgres://` (Heroku, many hosting panels) is PostgreSQL too; SQLAlchemy knows it as `postgresql://`."""
        if url and url.startswith("postgres://"):
            return "postgresql://" + url[len("postgres://"):]
        return url

    @property
    def system_url(self) -> str:
        return self.system_database_url or self.database_url

    @property
    def embedded(self) -> bool:
        return self.database_url.startswith("sqlite")

    def resolved_config_dir(self) -> Path:
        """CONFIG_DIR, or the packaged defaults when it is unset. A CONFIG_DIR that is not a folder is
        an error (a typo must never make the bot run on the sample policy)."""
        if self.config_dir is None:
            return packaged("config")
        if not self.config_dir.is_dir():
            raise ConfigError(f"CONFIG_DIR {self.config_dir} is not a folder: refusing to start. Point it at the "
                              "folder holding roles.yaml, datamap.yaml, retention.yaml, breaches.yaml and "
                              "integrations.yaml, or unset it to use the packaged defaults.")
        return self.config_dir

    def templates_dir(self) -> Path:
        """TEMPLATES_DIR (an operator's edited copy, from `gdpr-bot init`), else the packaged templates."""
        if self.templates_dir_override is None:
            return packaged("templates")
        if not self.templates_dir_override.is_dir():
            raise ConfigError(f"TEMPLATES_DIR {self.templates_dir_override} is not a folder: refusing to start.")
        return self.templates_dir_override

    def secret(self) -> bytes:
        """SECRET_KEY (refused when weak, wherever it is set); on the embedded default a random key is
        created once next to the database."""
        if self.secret_key is not None:
            value = self.secret_key.get_secret_value()
            why = weakness(value)
            if why:
                raise ConfigError(f"SECRET_KEY is too weak: {why}. Generate one with `openssl rand -hex 32`.")
            return value.encode()
        if not self.embedded:
            raise ConfigError("SECRET_KEY is not set: outside the embedded demo a random key of your own is required "
                              "(`openssl rand -hex 32`).")
        path = Path("var/secret.key")
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
        return path.read_text().strip().encode()

    def keyring(self) -> KeyRing:
        """SECRET_KEY first, then SECRET_KEY_FALLBACKS (the keys it replaced: they verify and open only)."""
        older = self.secret_key_fallbacks.get_secret_value() if self.secret_key_fallbacks else ""
        return KeyRing([self.secret(), *(k.strip().encode() for k in older.split(",") if k.strip())])

    @property
    def bot_token(self) -> str:
        return self.slack_bot_token.get_secret_value() if self.slack_bot_token else LOCAL_BOT_TOKEN

    @property
    def signing_secret(self) -> str:
        return self.slack_signing_secret.get_secret_value() if self.slack_signing_secret else LOCAL_SIGNING_SECRET

    def refusal(self, *, mail: bool = True) -> str | None:
        """Why a long-running process (serve, worker, scheduler, api) must not start on these settings, in
        one line naming the variable, or None. The embedded demo (SQLite) runs on the stand-in's Slack
        credentials, its own random key and an outbox folder; nothing else does."""
        try:
            self.secret()
        except ConfigError as exc:
            return str(exc)
        if self.embedded:
            return None
        secret, token = self.slack_signing_secret, self.slack_bot_token
        if secret is None:
            return "SLACK_SIGNING_SECRET is not set: without your app's signing secret anyone could forge commands."
        if secret.get_secret_value() == LOCAL_SIGNING_SECRET or len(secret.get_secret_value()) < 16:
            return "SLACK_SIGNING_SECRET is the local stand-in's or too short: set your Slack app's signing secret."
        if token is None:
            return "SLACK_BOT_TOKEN is not set: set your Slack app's bot token (xoxb-...)."
        if token.get_secret_value() == LOCAL_BOT_TOKEN or not token.get_secret_value().startswith("xoxb-"):
            return "SLACK_BOT_TOKEN is the local stand-in's or not a bot token (xoxb-...): set your app's bot token."
        if mail and not self.smtp_url:
            return ("SMTP_URL is not set: outside the embedded demo a club's passphrase goes by SMTP, never to a file "
                    "in OUTBOX_DIR.")
        return None

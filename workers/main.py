"""Entry module for `dramatiq workers.main` (what `gdpr-bot worker` runs): broker and actors from the environment."""
from __future__ import annotations

import functools
import os

if os.environ.get("WORKER_METRICS_PORT"):  # before anything imports prometheus_client: its mode is fixed then
    from dramatiq.middleware.prometheus import DB_PATH
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = DB_PATH

from bootstrap.config import load_config
from gdpr.core import logsafe
from gdpr.core.errors import ConfigError
from gdpr.core.settings import Settings
from workers.actors import Jobs, declare
from workers.broker import make_broker

logsafe.configure()  # before Dramatiq's own handlers see a record
os.umask(0o077)  # exports, mail, backups: owner only, also when Dramatiq is started by hand
_settings = Settings()
_unsafe = _settings.refusal(mail=False)  # `gdpr-bot worker` also refuses passphrase mail to files
if _unsafe:
    raise ConfigError(_unsafe)
load_config(_settings)  # a broken config stops the worker at boot, not every job after it
broker = make_broker(_settings)


@functools.cache
def _jobs() -> Jobs:
    """The job use cases, built on the first message in the worker process (never at import)."""
    from bootstrap.compose import worker_jobs
    return worker_jobs(_settings, broker=broker, actors=actors)


actors = declare(broker, _jobs)

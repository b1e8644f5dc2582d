"""Entry module for `dramatiq workers.main` (what `gdpr-bot worker` runs): broker and actors from the environment."""
from __future__ import annotations

import functools

from bootstrap.compose import load_config
from gdpr import logsafe
from gdpr.settings import Settings
from workers.actors import declare
from workers.broker import make_broker

logsafe.configure()  # before Dramatiq's own handlers see a record
_settings = Settings()
load_config(_settings)  # a broken config stops the worker at boot, not every job after it
broker = make_broker(_settings)


@functools.cache
def _services():  # noqa: ANN202 - built on first message, in the worker process, never at import
    from bootstrap.compose import build
    return build(_settings, broker=broker, actors=actors)


actors = declare(broker, _services)

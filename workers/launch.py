"""What `gdpr-bot worker` execs: Dramatiq's CLI, with this project's logging set up first.

Dramatiq's supervisor process and the processes it forks call `logging.basicConfig` with their own
format; configured before, they keep ours - scrubbed records, and with LOG_FORMAT=json every line of
the worker's output (supervisor included) is one JSON event."""
from __future__ import annotations

import sys

from dramatiq.cli import main

from gdpr.core import logsafe

if __name__ == "__main__":
    logsafe.configure()
    sys.exit(main())

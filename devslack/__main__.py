"""`python -m devslack --port N`: run the Slack stand-in on its own (benchmarks, manual testing)."""
from __future__ import annotations

import argparse
import signal
import tempfile
import threading
from pathlib import Path

from devslack.server import SlackStandIn
from gdpr.core.settings import LOCAL_BOT_TOKEN


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--token", default=LOCAL_BOT_TOKEN)
    args = p.parse_args()
    standin = SlackStandIn(args.token, Path(tempfile.mkdtemp(prefix="slack-files-")))
    print(standin.start(args.port), flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    standin.stop()


if __name__ == "__main__":
    main()

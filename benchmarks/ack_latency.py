"""Ack latency of `/gdpr access` through the HTTP endpoint (waitress + Bolt's WSGI adapter),
20 concurrent requests, against a bare Bolt app that only acks, same server settings, same run.

    python -m benchmarks.ack_latency [--requests 1500] [--concurrency 20]
    python -m benchmarks.ack_latency --smoke             # 60 requests (the test suite runs this)

Two load shapes, both reported:
* bursts: 20 requests fired at once, then the next burst once the bot has finished the
  previous burst's work (lookups, request rows, audit, cards) - 20 people typing at once;
* sustained: 20 clients in a closed loop as fast as the server answers - saturation, where
  the bot's after-ack work competes with its acks for the one Python interpreter.

Uses the embedded default (SQLite, in-process queue) unless DATABASE_URL / REDIS_URL are set.
The Slack stand-in runs in its own process, as Slack would be elsewhere.
"""
from __future__ import annotations

import argparse
import http.client
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy import text

from benchmarks import machine
from bootstrap.runtime import start
from bot.http import make_server, serve_in_thread, wsgi_app
from devslack.driver import command_body, sign
from gdpr.core.db import make_engine
from gdpr.core.settings import LOCAL_BOT_TOKEN, LOCAL_SIGNING_SECRET, Settings
from gym.seed import seed


def bare_app(api_url: str) -> App:
    client = WebClient(token=LOCAL_BOT_TOKEN, base_url=api_url)
    app = App(signing_secret=LOCAL_SIGNING_SECRET, client=client, token_verification_enabled=False)

    @app.command("/gdpr")
    def only_ack(ack):
        ack()
    return app


def measure(port: int, bodies: list[str], concurrency: int) -> list[float]:
    local = threading.local()

    def one(body: str) -> float:
        conn = getattr(local, "conn", None) or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        local.conn = conn
        headers = sign(LOCAL_SIGNING_SECRET, body)
        t0 = time.perf_counter()
        conn.request("POST", "/slack/events", body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        elapsed = time.perf_counter() - t0
        assert resp.status == 200, resp.status
        return elapsed

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, bodies))


def measure_bursts(port: int, bodies: list[str], concurrency: int, drained) -> list[float]:
    out: list[float] = []
    for start_at in range(0, len(bodies), concurrency):
        burst = bodies[start_at:start_at + concurrency]
        out += measure(port, burst, concurrency)
        drained(start_at + len(burst))  # the last burst may be short: wait for its cards, not a full burst's
    return out


def start_beside_standin(db_url: str, work: Path) -> tuple:
    """The Slack stand-in in its own process (as Slack is elsewhere) and the bot's services against it:
    (running, the stand-in's process)."""
    standin = subprocess.Popen([sys.executable, "-m", "devslack"], stdout=subprocess.PIPE, text=True)
    api_url = standin.stdout.readline().strip()  # type: ignore[union-attr]
    settings = Settings(database_url=db_url, redis_url=os.environ.get("REDIS_URL"), slack_api_url=api_url,
                        secret_key=secrets.token_hex(32), export_dir=work / "exports")
    return start(settings, housekeeping=False), standin


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=1000)[int(p * 10) - 1] * 1000


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=1500)
    p.add_argument("--concurrency", type=int, default=20)
    p.add_argument("--shapes", nargs="+", default=["bursts", "sustained"], choices=["bursts", "sustained"])
    p.add_argument("--smoke", action="store_true", help="small sizes, for the test suite")
    args = p.parse_args()
    if args.smoke:
        args.requests, args.concurrency = 60, 5
    work = Path(tempfile.mkdtemp(prefix="bench-ack-"))
    db_url = os.environ.get("DATABASE_URL") or f"sqlite:///{work}/bench.sqlite3"
    engine = make_engine(db_url, immediate=False)
    seed(engine, members=args.requests * 2 + 500, seed_value=3)
    with engine.connect() as conn:
        numbers = [r[0] for r in conn.execute(text("SELECT member_number FROM members ORDER BY id"))]
    engine.dispose()
    running, standin = start_beside_standin(db_url, work)
    api_url = running.services.settings.slack_api_url
    results, loads = {}, {}
    sent = [running.services.shown.count("approval")]  # a database used before holds cards of its own

    def drained(extra: int) -> None:  # the bot has posted a card for every request so far
        target = sent[0] + extra
        deadline = time.monotonic() + 60
        while running.services.shown.count("approval") < target and time.monotonic() < deadline:
            time.sleep(0.005)

    apps = (("bare Bolt app (ack only)", bare_app(api_url)), ("gdpr-bot /gdpr access", running.app))
    members = iter(numbers)
    try:
        for shape in args.shapes:
            for name, app in apps:
                server = make_server(wsgi_app(app), "127.0.0.1", 0, threads=16)
                stop = serve_in_thread(server)
                warm = [command_body("U0SUPPORT1", "help") for _ in range(100)]  # each its own: never a replay
                measure(server.effective_port, warm, args.concurrency)
                bodies = [command_body("U0SUPPORT1", f"access {next(members)}") for _ in range(args.requests // 2)]
                ours = app is running.app
                t0, cpu0 = time.perf_counter(), time.process_time()
                if shape == "bursts":
                    lat = measure_bursts(server.effective_port, bodies, args.concurrency,
                                         drained if ours else (lambda n: None))
                else:
                    lat = measure(server.effective_port, bodies, args.concurrency)
                rps = len(lat) / (time.perf_counter() - t0)
                loads[(shape, name)] = machine()
                stop()
                if ours:
                    drained(len(bodies) if shape == "sustained" else 0)
                    sent[0] += len(bodies)
                # this interpreter's CPU per request, the work after the ack included (the load generator's
                # share is the same for both apps): what bounds the throughput of one process
                cpu = (time.process_time() - cpu0) / len(bodies) * 1000
                results[(shape, name)] = (pct(lat, 50), pct(lat, 99), rps, cpu)
    finally:
        running.stop()
        standin.terminate()
    print(f"{args.requests // 2} requests per row, {args.concurrency} concurrent, backend: {db_url.split(':')[0]}"
          f"{' + redis' if os.environ.get('REDIS_URL') else ' + in-process queue'}")
    print(f"{'load':<10} {'app':<26} {'p50 ms':>7} {'p99 ms':>7} {'req/s':>7} {'cpu/req':>8}  machine")
    for (shape, name), (p50, p99, rps, cpu) in results.items():
        print(f"{shape:<10} {name:<26} {p50:>7.1f} {p99:>7.1f} {rps:>7.0f} {cpu:>5.1f} ms  {loads[(shape, name)]}")
    for shape in args.shapes:
        bare, ours = results[(shape, apps[0][0])], results[(shape, apps[1][0])]
        print(f"{shape}: p99 gdpr-bot / bare = {ours[1] / bare[1]:.2f}x at {ours[2] / bare[2]:.0%} of its throughput; "
              f"CPU per request {ours[3] / bare[3]:.1f}x")


if __name__ == "__main__":
    main()

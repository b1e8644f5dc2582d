"""The clubs' API under load: `POST /v1/requests` (token check, rate limit, the subject looked up in the
club, the request row and its audit events, the DPO's card posted to Slack) from N concurrent clients,
against a bare FastAPI app of the same stack (uvicorn, same settings) whose endpoint only parses the same
body, in the same run. p50, p99 and throughput.

    python -m benchmarks.api_latency [--requests 1000] [--concurrency 10]
    python -m benchmarks.api_latency --smoke             # 40 requests (the test suite runs this)

Uses the embedded default (SQLite, in-process queue) unless DATABASE_URL / REDIS_URL are set; the Slack
stand-in runs in its own process, as Slack would be elsewhere.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from sqlalchemy import text

from api.app import NewRequest
from benchmarks import machine
from benchmarks.ack_latency import pct, start_beside_standin
from bootstrap.runtime import api_app
from gdpr.core.db import make_engine
from gym.seed import seed

CLUB = "ghent-centre"


def bare() -> FastAPI:
    app = FastAPI()

    @app.post("/v1/requests", status_code=201)
    def only_parse(body: NewRequest) -> dict:
        return {"id": 1, "kind": body.kind, "status": "awaiting_approval"}
    return app


def serve(app) -> tuple[uvicorn.Server, int]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return server, server.servers[0].sockets[0].getsockname()[1]


def measure(port: int, token: str, members: list[str], concurrency: int) -> tuple[list[float], float]:
    local = threading.local()

    def one(member: str) -> float:
        conn = getattr(local, "conn", None) or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        local.conn = conn
        body = json.dumps({"kind": "access", "member": member})
        t0 = time.perf_counter()
        conn.request("POST", "/v1/requests", body=body, headers={"Content-Type": "application/json",
                                                                 "Authorization": f"Bearer {token}"})
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 201, resp.status
        return time.perf_counter() - t0

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        out = list(pool.map(one, members))
    return out, len(members) / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=10)
    p.add_argument("--smoke", action="store_true", help="small sizes, for the test suite")
    args = p.parse_args()
    if args.smoke:
        args.requests, args.concurrency = 40, 4
    work = Path(tempfile.mkdtemp(prefix="bench-api-"))
    db_url = os.environ.get("DATABASE_URL") or f"sqlite:///{work}/bench.sqlite3"
    engine = make_engine(db_url, immediate=False)
    seed(engine, members=args.requests * 6, seed_value=5)
    with engine.connect() as conn:
        numbers = [r[0] for r in conn.execute(text(
            "SELECT m.member_number FROM members m JOIN clubs c ON c.id = m.club_id WHERE c.code = :c ORDER BY m.id"),
            {"c": CLUB})][:args.requests]
    engine.dispose()
    running, standin = start_beside_standin(db_url, work)
    token = running.services.club_tokens.issue(club=CLUB, by="bench", allowed=None).token
    try:
        ours, ours_port = serve(api_app(running.services, per_minute=10 ** 9, per_address=10 ** 9))
        base, base_port = serve(bare())
        measure(base_port, token, numbers[:50], args.concurrency)  # warm both
        lat_base, rate_base = measure(base_port, token, numbers, args.concurrency)
        load_base = machine()
        lat_ours, rate_ours = measure(ours_port, token, numbers, args.concurrency)
        load_ours = machine()
        for server in (ours, base):
            server.should_exit = True
    finally:
        running.stop()
        standin.terminate()
    print(f"{len(numbers)} requests, {args.concurrency} concurrent, backend: {db_url.split(':')[0]}")
    for name, lat, rate, load in (("bare FastAPI app (parse only)", lat_base, rate_base, load_base),
                                  ("gdpr-bot POST /v1/requests", lat_ours, rate_ours, load_ours)):
        print(f"{name:32} p50 {pct(lat, 50):7.1f} ms  p99 {pct(lat, 99):7.1f} ms  {rate:6.0f} req/s  {load}")
    print(f"p99 ratio: {pct(lat_ours, 99) / pct(lat_base, 99):.1f}x the bare app")


if __name__ == "__main__":
    main()

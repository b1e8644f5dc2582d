"""A small HTTP server speaking the Web API methods the bot uses, recording every call.

It is the only fake in the project: the bot talks to it through the real slack_sdk WebClient
(SLACK_API_URL). Messages, threads, DMs, uploads and modals are kept so a transcript can be
printed and tests can assert on what a person in Slack would have seen.
"""
from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

USERS = {
    "U0SUPPORT1": "Sam (support)", "U0SUPPORT2": "Sasha (support)", "U0DPO1": "Dana (DPO)",
    "U0ADMIN1": "Alex (admin)", "U0STRANGER": "Stan (no role)", "UBOT": "gdpr-bot",
}
GROUPS = {"S0DPOTEAM": ["U0DPO1"]}


@dataclass(frozen=True)
class Fault:
    status: int  # 200: only slow
    retry_after: int | None
    delay: float


@dataclass
class Call:
    method: str
    args: dict
    at: float = field(default_factory=time.time)


class SlackStandIn:
    def __init__(self, token: str, files_dir: Path, groups: dict[str, list[str]] | None = None) -> None:
        self.token = token
        self.files_dir = files_dir
        self.groups = dict(GROUPS if groups is None else groups)
        self.calls: list[Call] = []
        self.messages: dict[str, list[dict]] = {}  # channel -> messages (with replies in place)
        self.homes: dict[str, dict] = {}  # user -> their App Home view (views.publish)
        self.members: dict[str, set[str]] = {}  # channel -> users invited by the bot
        self.files: dict[str, dict] = {}
        self.refusals: dict[str, list[str]] = {}  # method -> errors to answer with, one per call
        self.faults: dict[str, list[Fault]] = {}  # method -> HTTP faults (429, 503, slow), one per call
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, port: int = 0) -> str:
        handler = _make_handler(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
                         name="slack-standin").start()  # a stop waits at most one poll
        return self.api_url

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        return self.base_url + "/api/"

    # -- queries for tests and transcripts ---------------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        """The calls of `method` Slack took (not those answered with an HTTP fault: see `attempts`)."""
        with self._lock:
            return [c for c in self.calls if c.method == method and "_refused" not in c.args]

    def attempts(self, method: str) -> list[Call]:
        """Every call of `method`, those answered with 429/503 included."""
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def channel(self, channel: str) -> list[dict]:
        with self._lock:
            return [dict(m) for m in self.messages.get(channel, [])]

    def thread(self, channel: str, ts: str) -> list[dict]:
        return [m for m in self.channel(channel) if m.get("thread_ts") == ts and m["ts"] != ts]

    def all_text(self) -> str:
        """Every text the bot sent anywhere (messages, blocks, ephemerals, modals), for leak checks."""
        with self._lock:
            return "\n".join(json.dumps(c.args, ensure_ascii=False) for c in self.calls)

    def stored_text(self) -> str:
        """What Slack keeps of the bot's output: every message as last updated in every conversation
        (ephemeral messages are not kept), every user's App Home, every file's name (for erasure checks)."""
        with self._lock:
            kept = [m for c, msgs in self.messages.items() if not c.startswith("ephemeral:") for m in msgs]
            files = [f"{f.get('name')} {f.get('title')}" for f in self.files.values()]
            return "\n".join([json.dumps(kept, ensure_ascii=False), json.dumps(self.homes, ensure_ascii=False),
                              json.dumps(files, ensure_ascii=False)])

    # -- the Web API -------------------------------------------------------------------------
    def refuse(self, method: str, error: str, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with `{"ok": false, "error": error}`."""
        with self._lock:
            self.refusals.setdefault(method, []).extend([error] * times)

    def fail(self, method: str, status: int, times: int = 1, *, retry_after: int | None = None,
             delay: float = 0.0) -> None:
        """Answer the next `times` calls of `method` with HTTP `status` (429 with `Retry-After`, 503, ...; 0:
        drop the connection without an answer), after `delay` seconds. The call is recorded but does
        nothing: Slack did not take it."""
        with self._lock:
            self.faults.setdefault(method, []).extend([Fault(status, retry_after, delay)] * times)

    def slow(self, method: str, seconds: float, times: int = 1) -> None:
        """Answer the next `times` calls of `method` normally, but only after `seconds`."""
        with self._lock:
            self.faults.setdefault(method, []).extend([Fault(200, None, seconds)] * times)

    def fault_for(self, method: str) -> Fault | None:
        with self._lock:
            queue = self.faults.get(method)
            return queue.pop(0) if queue else None

    def handle(self, method: str, args: dict) -> dict:
        with self._lock:
            self.calls.append(Call(method, args))
            if self.refusals.get(method):
                return {"ok": False, "error": self.refusals[method].pop(0)}
            fn = getattr(self, "api_" + method.replace(".", "_"), None)
            if fn is None:
                return {"ok": False, "error": "unknown_method"}
            return fn(args)

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _add(self, channel: str, msg: dict) -> dict:
        msg = {"ts": self._next_ts(), "channel": channel, **msg}
        self.messages.setdefault(channel, []).append(msg)
        return msg

    def api_auth_test(self, args: dict) -> dict:
        return {"ok": True, "user_id": "UBOT", "user": "gdpr-bot", "bot_id": "B0BOT", "team_id": "T0GYM", "team": "Gym"}

    def api_chat_postMessage(self, args: dict) -> dict:
        channel = args.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if channel.startswith("C0NOTIN"):
            return {"ok": False, "error": "not_in_channel"}
        broadcast = bool(args.get("thread_ts")) and args.get("reply_broadcast") in (True, "true", "1", 1)
        msg = self._add(channel, {"text": args.get("text"), "blocks": _json(args.get("blocks")),
                                  "thread_ts": args.get("thread_ts"), "user": "UBOT", "reply_broadcast": broadcast})
        return {"ok": True, "channel": channel, "ts": msg["ts"], "message": msg}

    def api_chat_update(self, args: dict) -> dict:
        for msg in self.messages.get(str(args.get("channel")), []):
            if msg["ts"] == args.get("ts"):
                msg.update(text=args.get("text"), blocks=_json(args.get("blocks")), edited=True)
                return {"ok": True, "channel": msg["channel"], "ts": msg["ts"]}
        return {"ok": False, "error": "message_not_found"}

    def api_chat_postEphemeral(self, args: dict) -> dict:
        if str(args.get("channel", "")).startswith("C0NOTIN"):
            return {"ok": False, "error": "not_in_channel"}
        msg = self._add(f"ephemeral:{args.get('user')}", {"text": args.get("text"), "blocks": _json(args.get("blocks")),
                                                          "in": args.get("channel")})
        return {"ok": True, "message_ts": msg["ts"]}

    def api_conversations_open(self, args: dict) -> dict:
        user = str(args.get("users", "")).split(",")[0]
        return {"ok": True, "channel": {"id": f"D{user}"}}

    def api_conversations_replies(self, args: dict) -> dict:
        channel, ts = str(args.get("channel")), args.get("ts")
        msgs = [m for m in self.messages.get(channel, []) if m["ts"] == ts or m.get("thread_ts") == ts]
        if not msgs:
            return {"ok": False, "error": "thread_not_found"}
        return {"ok": True, "messages": [dict(m) for m in msgs], "has_more": False}

    def api_conversations_history(self, args: dict) -> dict:
        """A channel's (or DM's) top-level messages, newest first."""
        channel = str(args.get("channel") or "")
        msgs = [dict(m) for m in self.messages.get(channel, []) if not m.get("thread_ts")]
        return {"ok": True, "messages": msgs[::-1][:int(args.get("limit") or 100)], "has_more": False}

    def api_users_info(self, args: dict) -> dict:
        uid = args.get("user")
        if uid not in USERS:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": {"id": uid, "name": USERS[uid], "real_name": USERS[uid]}}

    def api_usergroups_users_list(self, args: dict) -> dict:
        gid = args.get("usergroup")
        if gid not in self.groups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.groups[gid])}

    def api_views_publish(self, args: dict) -> dict:
        """A user's App Home: the latest published view, kept per user (`home(user)`)."""
        user, view = str(args.get("user_id") or ""), _json(args.get("view"))
        if not user or not isinstance(view, dict) or view.get("type") != "home":
            return {"ok": False, "error": "invalid_arguments"}
        self.homes[user] = view  # (the dispatcher holds the lock)
        return {"ok": True, "view": {"id": f"V{next(self._ts):06d}", **view}}

    def home(self, user: str) -> dict | None:
        with self._lock:
            return self.homes.get(user)

    def api_views_open(self, args: dict) -> dict:
        if not args.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        view = _json(args.get("view"))
        return {"ok": True, "view": {"id": f"V{next(self._ts):06d}", **(view if isinstance(view, dict) else {})}}

    def api_conversations_create(self, args: dict) -> dict:
        name = str(args.get("name") or "")
        if not name:
            return {"ok": False, "error": "invalid_name_required"}
        channel = f"C0{name.upper().replace('-', '')[:12]}"
        self.messages.setdefault(channel, [])  # handle() holds the lock
        return {"ok": True, "channel": {"id": channel, "name": name}}

    def api_conversations_invite(self, args: dict) -> dict:
        users = [u for u in str(args.get("users") or "").split(",") if u]
        if not users:
            return {"ok": False, "error": "no_user"}
        self.members.setdefault(str(args.get("channel")), set()).update(users)  # handle() holds the lock
        return {"ok": True, "channel": {"id": args.get("channel")}}

    def api_files_getUploadURLExternal(self, args: dict) -> dict:
        file_id = f"F{next(self._ts):08d}"
        self.files[file_id] = {"id": file_id, "name": args.get("filename"), "length": int(args.get("length", 0))}
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.base_url}/upload/{file_id}"}

    def api_files_completeUploadExternal(self, args: dict) -> dict:
        files = _json(args.get("files"))
        out = []
        for f in files if isinstance(files, list) else []:
            meta = self.files.get(f["id"])
            if meta is None or "path" not in meta:
                return {"ok": False, "error": "file_not_found"}
            meta["title"] = f.get("title")
            channel = args.get("channel_id")
            if channel:
                self._add(channel, {"text": args.get("initial_comment"), "thread_ts": args.get("thread_ts"),
                                    "files": [dict(meta)], "user": "UBOT"})
            out.append({"id": meta["id"], "title": meta.get("title"), "name": meta["name"]})
        return {"ok": True, "files": out}

    def api_files_delete(self, args: dict) -> dict:
        """As Slack: the file and its bytes go, and messages that shared it show it as deleted."""
        meta = self.files.pop(args.get("file") or "", None)
        if meta is None:
            return {"ok": False, "error": "file_not_found"}
        if "path" in meta:
            Path(meta["path"]).unlink(missing_ok=True)
        for messages in self.messages.values():
            for msg in messages:
                if any(f.get("id") == meta["id"] for f in msg.get("files") or []):
                    msg["files"] = [{"id": meta["id"], "mode": "tombstone"}]
        return {"ok": True}

    def store_upload(self, file_id: str, data: bytes) -> bool:
        with self._lock:
            meta = self.files.get(file_id)
            if meta is None:
                return False
            self.files_dir.mkdir(parents=True, exist_ok=True)
            path = self.files_dir / f"{file_id}-{Path(meta['name']).name}"
            path.write_bytes(data)
            meta["path"] = str(path)
            return True

    def uploaded_files(self) -> list[dict]:
        with self._lock:
            return [dict(f) for f in self.files.values() if "path" in f]


def _json(value: object) -> object:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _make_handler(standin: SlackStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet
            pass

        def _reply(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.startswith("/upload/"):
                ok = standin.store_upload(self.path.rsplit("/", 1)[1], raw)
                self._reply(200 if ok else 404, {"ok": ok})
                return
            if not self.path.startswith("/api/"):
                self._reply(404, {"ok": False, "error": "not_found"})
                return
            auth = self.headers.get("Authorization", "")
            args = _parse_args(self.headers.get("Content-Type", ""), raw)
            token = auth.removeprefix("Bearer ") if auth else args.pop("token", "")
            if token != standin.token:
                self._reply(200, {"ok": False, "error": "invalid_auth"})
                return
            method = self.path[len("/api/"):].split("?")[0]
            fault = standin.fault_for(method)
            if fault is not None:
                time.sleep(fault.delay)
                if fault.status != 200:
                    with standin._lock:
                        standin.calls.append(Call(method, {**args, "_refused": fault.status}))
                    if fault.status == 0:  # the connection drops: no answer at all
                        self.close_connection = True
                        return
                    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                    self._reply(fault.status, {"ok": False, "error": "ratelimited" if fault.status == 429
                                               else "service_unavailable"}, headers)
                    return
            self._reply(200, standin.handle(method, args))

        do_GET = do_POST

    return Handler


def _parse_args(content_type: str, raw: bytes) -> dict:
    if not raw:
        return {}
    if "json" in content_type:
        return json.loads(raw)
    return {k: v[0] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}

"""The clubs' API on FastAPI: a guard in front of every /v1/ call - the caller's address within its rate,
HTTPS (plain HTTP from loopback only), the club's token checked, the club within its rate, the body
within its cap - all before a byte of the body is read; then a use case; problem details (RFC 9457) for
every error, whatever raised it (a database that is down is a 503, never a traceback). Every call is
recorded: a club's in the audit chain, a refused anonymous one apart from it. The OpenAPI document
declares the bearer scheme, every response and a bound on every input (`openapi()`); interactive docs
are served only when API_DOCS is set. Nothing here touches the database."""
from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union

import anyio
from fastapi import Body, Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from prometheus_client import Counter
from pydantic import BaseModel, ConfigDict, Field, create_model
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match

from gdpr.app.club_api import ClubApi, RequestStatus, Transfer, expires
from gdpr.app.ropa import Records
from gdpr.clubs.downloads import LinkBusy, LinkGone
from gdpr.clubs.tokens import Unauthenticated
from gdpr.core.crypto import canonical
from gdpr.core.db import unavailable
from gdpr.core.errors import (
    AlreadyDecided,
    AlreadyInEffect,
    AmbiguousSubject,
    DuplicateRequest,
    GdprError,
    NotAllowed,
    NotEnded,
    NotFound,
    SubjectNotFound,
    UsageError,
)

log = logging.getLogger(__name__)
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

INT32 = 2**31 - 1  # ids and offsets: beyond this a database would refuse them
TOKEN_PATTERN = r"^[A-Za-z0-9_-]{43}$"  # secrets.token_urlsafe(32)
MEMBER_PATTERN = r"^([Mm][0-9]{7}|[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63}){0,4}\.[A-Za-z]{2,24})$"
class OutOfWindow(GdprError):
    """A well-formed `received_on` today's date rules out (409: it conflicts with the calendar, not the schema)."""


PROBLEMS: list[tuple[type[Exception], int, str]] = [
    (Unauthenticated, 401, "unauthenticated"), (NotAllowed, 403, "forbidden"), (SubjectNotFound, 404, "not-found"),
    (NotFound, 404, "not-found"), (LinkGone, 410, "gone"), (LinkBusy, 409, "conflict"), (DuplicateRequest, 409, "conflict"),
    (AlreadyDecided, 409, "conflict"), (AlreadyInEffect, 409, "conflict"), (NotEnded, 409, "not-ended"), (OutOfWindow, 409, "received-on-out-of-window"), (AmbiguousSubject, 422, "ambiguous-subject"), (UsageError, 422, "invalid"),
]
TITLES = {400: "Bad request", 401: "Unauthenticated", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
          409: "Conflict", 410: "Gone", 413: "Body too large", 422: "Invalid request", 429: "Too many calls",
          500: "Internal error", 503: "Service unavailable"}


MEMBER = Field(description="the member's number (M and 7 digits) or email address in your club",
               examples=["M0001234"], min_length=8, max_length=200, pattern=MEMBER_PATTERN)
TEXT = r"^(?:\s*\S){10}[\s\S]*$"  # ten characters besides spaces: what is left once spaces are folded


class NewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["access", "portability", "erasure"] = Field(
        description="access, portability (the same export, machine-readable JSON inside) or erasure", examples=["access"])
    member: str = MEMBER
    received_on: dt.date | None = Field(None, description="when your club received the request (default: today; "
                                                          "not in the future, nor more than 90 days ago); the month "
                                                          "of Art. 12(3) runs from it")


class NewRestriction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["restriction"] = Field(description="restrict processing (Art. 18(1)): applied at once, the "
                                                     "recipients told (Art. 19)")
    member: str = MEMBER
    ground: str = Field(description="why (e.g. the member contests the accuracy of their address, Art. 18(1)(a))",
                        min_length=10, max_length=1000, pattern=TEXT)


class NewLift(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["restriction-lift"] = Field(description="lift a restriction (Art. 18(3): tell the person first); "
                                                          "the DPO approves it")
    member: str = MEMBER
    reason: str = Field(description="why it is lifted", min_length=10, max_length=1000, pattern=TEXT)


def rectification_model(fields: dict[str, tuple[str, int | None]]) -> type[BaseModel]:
    """`changes`: the data map's rectifiable columns, each typed as the column it goes into, at least one."""
    def absent(schema: dict) -> None:  # a field left out is not null: the schema allows no null
        schema.pop("default", None)

    def field(kind: str, length: int | None) -> tuple[Any, Any]:
        if kind == "date":
            return dt.date, Field(None, json_schema_extra=absent)
        pattern = r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$" if kind == "email" else r"\S"
        return str, Field(None, min_length=1, max_length=length or 1000, pattern=pattern, json_schema_extra=absent)
    changes = create_model("Changes", __config__=ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1}),
                           **{name: field(*spec) for name, spec in fields.items()})  # type: ignore[call-overload]
    defined: dict[str, Any] = {
        "kind": (Literal["rectification"], Field(description="correct the member's data (Art. 16); the DPO approves "
                                                             "it, the recipients are told (Art. 19)")),
        "member": (str, MEMBER), "changes": (changes, Field(description="the corrected values, by field"))}
    return create_model("NewRectification", __config__=ConfigDict(extra="forbid"), **defined)


class RequestOut(BaseModel):
    id: int
    kind: str
    status: str
    received_on: dt.date | None
    due_on: dt.date
    opened_through_api: bool
    download_url: str | None = Field(None, description="single-use, expiring; present once the export is ready")
    download_expires_at: str | None = None
    original_due_on: dt.date | None = Field(None, description="the first month's end, when the DPO extended it")
    extension_reasons: str | None = Field(None, description="to tell the person within the first month (Art. 12(3))")
    refusal_ground: str | None = Field(None, description="why the request was refused (Art. 12(5))")
    refusal_notice: str | None = Field(None, description="the notice with the person's remedies (Art. 12(4)); on "
                                                         "the single request only")


class RequestList(BaseModel):
    items: list[RequestOut]
    offset: int
    total: int


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str


def problem(status: int, kind: str, title: str, detail: str, **headers: str) -> JSONResponse:
    return JSONResponse({"type": f"https://gdpr-bot.example.com/problems/{kind}", "title": title, "status": status,
                         "detail": detail}, status_code=status, media_type="application/problem+json", headers=headers)


class RateLimit:
    """At most `per_minute` calls per key (a club, an address) in any sliding minute (in this process)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute, self._lock = per_minute, threading.Lock()
        self._calls: dict[str, deque[float]] = {}

    def retry_after(self, key: str) -> int:
        now = time.monotonic()
        with self._lock:
            calls = self._calls.setdefault(key, deque())
            while calls and now - calls[0] > 60:
                calls.popleft()
            if len(calls) >= self.per_minute:
                return int(60 - (now - calls[0])) + 1
            calls.append(now)
            if len(self._calls) > 10_000:  # a scan from many addresses must not grow this without end
                for stale in [k for k, v in self._calls.items() if not v or now - v[-1] > 60]:
                    del self._calls[stale]
            return 0


class TooManyCalls(GdprError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many calls; try again in {retry_after} s.")
        self.retry_after = retry_after


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:  # not an address at all: not loopback
        return False


def _refusal(exc: Exception) -> JSONResponse:
    """The problem document for whatever a call raised."""
    if isinstance(exc, TooManyCalls):
        return problem(429, "rate-limited", TITLES[429], str(exc), **{"Retry-After": str(exc.retry_after)})
    for kind, status, name in PROBLEMS:
        if isinstance(exc, kind):
            extra = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
            return problem(status, name, TITLES[status], str(exc), **extra)
    if isinstance(exc, GdprError):
        return problem(400, "refused", TITLES[400], str(exc))
    if unavailable(exc):
        return problem(503, "unavailable", TITLES[503], "The service cannot reach its database; try again shortly.",
                       **{"Retry-After": "30"})
    return problem(500, "internal", TITLES[500], "Something went wrong on our side; it has been logged.")




class BodyTooLarge(Exception):
    pass


class Guard:
    """Everything a /v1/ call must pass before its body is read or a use case runs, and the record of
    every call afterwards; whatever escapes the app becomes problem+json here (a one-line log, no
    traceback, no request data)."""

    def __init__(self, app: Callable, *, use: Any, templates: Callable[[Scope], str], allow_http: bool,
                 per_minute: int, per_address: int, max_body: int, count: Callable[[str, int], None]) -> None:
        self.app, self.use, self.templates, self.allow_http, self.max_body = app, use, templates, allow_http, max_body
        self.clubs, self.addresses, self.count = RateLimit(per_minute), RateLimit(per_address), count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        address = (scope.get("client") or ("0.0.0.0", 0))[0]
        scope.setdefault("state", {})
        sent: dict[str, int] = {}

        async def tracked(message: Message) -> None:  # the record is written before the answer's last byte
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body") and "recorded" not in sent:
                sent["recorded"] = 1
                await self._record(scope, address, sent["status"])
            await send(message)
        try:
            refused = await self._admit(scope, address)
            if refused is not None:
                await refused(scope, receive, tracked)
            else:
                await self.app(scope, self._capped(scope, receive), tracked)
        except Exception as exc:
            if isinstance(exc, BodyTooLarge):
                answer = problem(413, "too-large", TITLES[413], f"A body may be at most {self.max_body} bytes.")
            else:
                answer = _refusal(exc)
                if answer.status_code >= 500:
                    log.error("api: %s answering %s %s", type(exc).__name__, scope["method"], self.templates(scope))
            if "status" not in sent:
                await answer(scope, receive, tracked)
        if "recorded" not in sent:  # no answer could be sent (the client went away first)
            await self._record(scope, address, sent.get("status", 500))

    async def _admit(self, scope: Scope, address: str) -> Response | None:
        wait = self.addresses.retry_after(address)
        if wait:
            return _refusal(TooManyCalls(wait))
        if scope.get("scheme") != "https" and not self.allow_http and not _loopback(address):
            return problem(403, "https-required", "HTTPS required", "Use HTTPS: plain HTTP is accepted from loopback only.")
        auth = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        try:
            club = await run_in_threadpool(self.use.authenticate, token=token, address=address)
        except Unauthenticated as exc:
            return _refusal(exc)
        scope["state"]["club"] = club
        wait = self.clubs.retry_after(club)
        if wait:
            return _refusal(TooManyCalls(wait))
        length = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            return problem(413, "too-large", TITLES[413], f"A body may be at most {self.max_body} bytes.")
        return None

    def _capped(self, scope: Scope, receive: Receive) -> Receive:
        """A chunked body is counted as it arrives: past the cap the call ends with 413 (the mark in the
        scope says so to whatever handler the framework turns the error into)."""
        seen = 0

        async def capped() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body:
                scope["state"]["too_large"] = True
                raise BodyTooLarge()
            return message
        return capped

    async def _record(self, scope: Scope, address: str, status: int) -> None:
        route, club = self.templates(scope), scope["state"].get("club")
        self.count(route, status)
        try:
            if club:
                request_id = (scope.get("path_params") or {}).get("request_id")
                await run_in_threadpool(self.use.record_call, club=club, method=scope["method"], route=route,
                                        status=status, request_id=request_id if isinstance(request_id, int) else None)
            else:
                await run_in_threadpool(self.use.record_refusal, address=address, method=scope["method"], route=route,
                                        status=status)
        except Exception as exc:
            log.error("api: the call could not be recorded (%s)", type(exc).__name__)


def _out(request: Request, s: RequestStatus) -> RequestOut:
    url = str(request.url_for("download", token=s.download)) if s.download else None
    return RequestOut(id=s.id, kind=s.kind, status=s.status, received_on=s.received_on, due_on=s.due_on,
                      opened_through_api=s.via_api, download_url=url, download_expires_at=expires(s.download_expires_at),
                      original_due_on=s.original_due_on, extension_reasons=s.extension_reasons,
                      refusal_ground=s.refusal_ground, refusal_notice=s.refusal_notice)


class SpendOnLastByte(Response):
    """The export, streamed; the link is spent only when its last byte went out. A client that goes away
    (or a send that fails) leaves the link live for another attempt; both are audited."""
    media_type = "application/zip"
    CHUNK = 64 * 1024

    def __init__(self, transfer: Transfer, use: Any) -> None:
        super().__init__()
        self.transfer, self.use = transfer, use

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        size, sent, gone, complete = self.transfer.path.stat().st_size, 0, anyio.Event(), False

        async def listen() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()
        headers = [(b"content-type", b"application/zip"), (b"content-length", str(size).encode()),
                   (b"content-disposition", f'attachment; filename="export-R-{self.transfer.request_id}.zip"'.encode())]
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(listen)
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                async with await anyio.open_file(self.transfer.path, "rb") as fh:
                    while sent < size and not gone.is_set():
                        chunk = await fh.read(self.CHUNK)
                        if not chunk:
                            break
                        sent += len(chunk)
                        await send({"type": "http.response.body", "body": chunk, "more_body": sent < size})
                        complete = sent == size and not gone.is_set()  # the last byte went to a client still there
                group.cancel_scope.cancel()
        except OSError:  # the connection broke under the send
            pass
        if complete:
            await run_in_threadpool(self.use.finished, self.transfer, size)
        else:
            await run_in_threadpool(self.use.dropped, self.transfer, sent, size)


@dataclass(frozen=True)
class ApiUseCases:
    """What the clubs' API may call, typed: the clubs' use case, the record of processing, the portability
    schema, the published verifying keys, and the counter of its calls."""

    clubs: ClubApi
    records: Records
    portability_schema: Callable[[str], dict]  # subject type -> the JSON Schema of an export's data.json
    public_keys: Callable[[str], list[str]]  # purpose -> the verifying keys, newest first
    calls: Counter  # by route template and status
    rectifiable: dict[str, tuple[str, int | None]] = field(default_factory=dict)  # a member's correctable fields


def build_api(api: ApiUseCases, *, allow_http: bool, per_minute: int, per_address: int, max_body: int,
              docs: bool) -> FastAPI:
    """The limits come from the settings (bootstrap.runtime.api_app): no second set of defaults here."""
    use = api.clubs
    app = FastAPI(title="gdpr-ops-bot: the clubs' API", version="1",
                  description="Data-subject requests for your club's members (access, portability, erasure), "
                              "answered by your processor after its DPO's approval. Authenticate with your club's "
                              "token: `Authorization: Bearer gdprc_…`. Errors are RFC 9457 problem details.",
                  docs_url="/docs" if docs else None, redoc_url="/redoc" if docs else None,
                  openapi_url="/openapi.json" if docs else None)
    bearer = HTTPBearer(auto_error=False, bearerFormat="gdprc_…", description="Your club's API token")

    def club(request: Request, _: object = Depends(bearer)) -> str:
        return request.scope["state"]["club"]  # the guard has checked the token before anything else

    @app.exception_handler(GdprError)
    async def refused(request: Request, exc: GdprError) -> JSONResponse:
        return _refusal(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
        return problem(422, "invalid", TITLES[422], where[:500])

    from starlette.exceptions import HTTPException

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:  # 404 of no route, 405, a bad JSON body
        if request.scope["state"].get("too_large"):  # FastAPI made the guard's cap a 400 "error parsing the body"
            return problem(413, "too-large", TITLES[413], f"A body may be at most {max_body} "
                                                          "bytes.")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # every method the path answers, not only the first route's
            allowed = {method for route in app.router.routes if isinstance(route, APIRoute)
                       and route.path_regex.match(request.url.path) for method in route.methods or ()}
            headers["Allow"] = ", ".join(sorted(allowed))
        return problem(exc.status_code, "http", TITLES.get(exc.status_code, "Error"), str(exc.detail)[:200], **headers)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict:
        return {"ok": True}

    def open_request(body: NewRequest, request: Request, code: str = Depends(club)) -> JSONResponse:
        received_on = getattr(body, "received_on", None)
        today = dt.date.today()
        if received_on is not None and not today - dt.timedelta(days=90) <= received_on <= today:
            raise OutOfWindow("`received_on` is when your club received the request: not in the future, nor more "
                              "than 90 days ago (a request that old is answered with the DPO, not opened here).")
        changes = getattr(body, "changes", None)
        opened = _out(request, use.open(
            club=code, kind=body.kind, member=body.member, received_on=received_on, ground=getattr(body, "ground", None),
            reason=getattr(body, "reason", None),
            changes={k: str(v) for k, v in changes.model_dump(exclude_none=True).items()} if changes else None))
        return JSONResponse(opened.model_dump(mode="json"), status_code=201,
                            headers={"Location": str(request.url_for("status", request_id=opened.id))})
    kinds: list[Any] = [NewRequest, NewRestriction, NewLift]
    if api.rectifiable:
        kinds.append(rectification_model(api.rectifiable))
    # the body is one of these by its `kind` (the schema says so, so a body the schema allows is one the use case
    # takes); set on the function object, as the models are built here, from the data map
    open_request.__annotations__["body"] = Annotated[Union[tuple(kinds)], Body(discriminator="kind")]  # noqa: UP007
    app.post("/v1/requests", status_code=201, response_model=RequestOut, summary="Open a request for a member")(
        open_request)

    @app.get("/v1/requests/{request_id}", response_model=RequestOut, name="status", summary="One request's status")
    def status(request: Request, request_id: int = Path(ge=1, le=INT32), code: str = Depends(club)) -> RequestOut:
        return _out(request, use.status(club=code, request_id=request_id))

    @app.get("/v1/requests/{request_id}/certificate", summary="The signed certificate of an ended request",
             responses={409: {"description": "the request has not ended yet"}})
    def certificate(request_id: int = Path(ge=1, le=INT32), code: str = Depends(club)) -> Response:
        return Response(canonical(use.certificate(club=code, request_id=request_id)), media_type="application/json")

    @app.get("/v1/requests", response_model=RequestList, summary="Your club's requests, newest first")
    def listed(request: Request, offset: int = Query(0, ge=0, le=INT32), limit: int = Query(50, ge=1, le=100),
               code: str = Depends(club)) -> RequestList:
        page = use.listed(club=code, offset=offset, limit=limit)
        return RequestList(items=[_out(request, s) for s in page.items], offset=page.offset, total=page.total)

    @app.get("/v1/portability-schema", summary="The JSON Schema of an export's data.json (Art. 20)")
    def portability_schema(code: str = Depends(club)) -> dict:
        return api.portability_schema("member")

    @app.get("/v1/ropa", summary="The processor's record of processing (Art. 30(2)) as it concerns your club")
    def ropa(code: str = Depends(club)) -> dict:
        version = api.records.for_club(club=code)
        return {"version": version.number, "created_at": version.created_at.isoformat(), "changes": version.changes,
                "record": version.record}

    @app.get("/v1/keys", summary="The public keys that verify the statements the processor signs, newest first")
    def keys(code: str = Depends(club)) -> dict:
        from gdpr.clubs.offboarding import SIGNING_PURPOSE
        from gdpr.requests.certificates import PUBLISHED
        return {"algorithm": "Ed25519", "purpose": SIGNING_PURPOSE, "keys": api.public_keys(SIGNING_PURPOSE),
                "by_purpose": {p: api.public_keys(p) for p in PUBLISHED}}

    @app.get("/v1/downloads/{token}", name="download", summary="The export (AES-256 zip), once",
             response_class=Response, responses={200: {"content": {"application/zip": {"schema": {
                 "type": "string", "format": "binary"}}}, "description": "the archive"}})
    def download(token: str = Path(pattern=TOKEN_PATTERN, min_length=43, max_length=43),
                 code: str = Depends(club)) -> Response:
        return SpendOnLastByte(use.download(club=code, token=token), use)

    def template(scope: Scope) -> str:
        route = scope.get("route")
        if route is None:
            for candidate in app.router.routes:
                match, child = candidate.matches(scope)
                if match == Match.FULL:
                    route = child.get("route") or candidate
                    break
        return getattr(route, "path", "unmatched")

    app.add_middleware(Guard, use=use, templates=template, allow_http=allow_http, per_minute=per_minute,
                       per_address=per_address, max_body=max_body,
                       count=lambda route, code: api.calls.labels(route=route, status=str(code)).inc())
    app.openapi = lambda: openapi(app)  # type: ignore[method-assign]
    return app


ERRORS = {"401": "no token, or one that is not valid (here)", "404": "no such request, link or member for your club",
          "409": "a conflict: the request exists or was decided, a download is under way, or received_on is "
                 "in the future or over 90 days ago", "410": "the link was used, expired or revoked",
          "413": "the body is too large", "422": "the input breaks the schema, or the member is ambiguous",
          "429": "too many calls (see Retry-After)", "403": "HTTPS required", "500": "an error on our side",
          "503": "the database cannot be reached (see Retry-After)", "400": "a malformed request"}


def openapi(app: FastAPI) -> dict:
    """The document, with the truth about errors: every one an operation can answer, as problem+json."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    doc.setdefault("components", {}).setdefault("schemas", {})["Problem"] = Problem.model_json_schema()
    ref = {"$ref": "#/components/schemas/Problem"}
    for ops in doc["paths"].values():
        for op in ops.values():
            for code, why in ERRORS.items():
                op["responses"][code] = {"description": why, "content": {"application/problem+json": {"schema": ref}}}
    for name in ("HTTPValidationError", "ValidationError"):
        doc["components"]["schemas"].pop(name, None)
    app.openapi_schema = doc
    return doc

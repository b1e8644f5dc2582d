"""The clubs' API on FastAPI (OpenAPI served at /openapi.json): authenticate the club, keep to its
rate, refuse plain HTTP from anywhere but loopback, call a use case, render problem details (RFC 9457)
for every refusal. Each call is audited by the use case layer; nothing here touches the database."""
from __future__ import annotations

import datetime as dt
import ipaddress
import threading
import time
from collections import deque

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from starlette.background import BackgroundTask
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from gdpr.app.club_api import RequestStatus, expires
from gdpr.clubs import Unauthenticated
from gdpr.downloads import LinkGone
from gdpr.errors import (AlreadyDecided, AmbiguousSubject, DuplicateRequest, GdprError, NotAllowed, NotFound,
                         SubjectNotFound, UsageError)

PROBLEMS: list[tuple[type[Exception], int, str]] = [
    (Unauthenticated, 401, "unauthenticated"), (NotAllowed, 403, "forbidden"), (SubjectNotFound, 404, "not-found"),
    (NotFound, 404, "not-found"), (LinkGone, 410, "gone"), (DuplicateRequest, 409, "conflict"),
    (AlreadyDecided, 409, "conflict"), (AmbiguousSubject, 422, "ambiguous-subject"), (UsageError, 422, "invalid"),
]


class NewRequest(BaseModel):
    kind: str = Field(description="access, portability (the same export, machine-readable JSON inside) or erasure",
                      examples=["access"])
    member: str = Field(description="the member's number (or email) in your club", examples=["M0001234"],
                        min_length=3, max_length=200)
    received_on: dt.date | None = Field(None, description="when your club received the request (default: today); "
                                                          "the month of Art. 12(3) runs from it")


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


def problem(status: int, kind: str, title: str, detail: str, **headers: str) -> JSONResponse:
    return JSONResponse({"type": f"https://gdpr-bot.example.com/problems/{kind}", "title": title, "status": status,
                         "detail": detail}, status_code=status, media_type="application/problem+json", headers=headers)


class RateLimit:
    """At most `per_minute` calls per club in any sliding minute (in this process)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute, self._calls, self._lock = per_minute, {}, threading.Lock()  # type: dict

    def retry_after(self, club: str) -> int:
        now = time.monotonic()
        with self._lock:
            calls = self._calls.setdefault(club, deque())
            while calls and now - calls[0] > 60:
                calls.popleft()
            if len(calls) >= self.per_minute:
                return int(60 - (now - calls[0])) + 1
            calls.append(now)
            return 0


class TooManyCalls(GdprError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many calls; try again in {retry_after} s.")
        self.retry_after = retry_after


class PlainHttp(GdprError):
    """Plain HTTP from anywhere but loopback (TLS belongs to the proxy in front)."""


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:  # not an address at all: not loopback
        return False


def _out(request: Request, s: RequestStatus) -> RequestOut:
    url = str(request.url_for("download", token=s.download)) if s.download else None
    return RequestOut(id=s.id, kind=s.kind, status=s.status, received_on=s.received_on, due_on=s.due_on,
                      opened_through_api=s.via_api, download_url=url, download_expires_at=expires(s.download_expires_at),
                      original_due_on=s.original_due_on, extension_reasons=s.extension_reasons,
                      refusal_ground=s.refusal_ground, refusal_notice=s.refusal_notice)


def build_api(services, *, allow_http: bool = False, per_minute: int = 120,  # noqa: ANN001, C901
              routes: dict | None = None) -> FastAPI:
    """`routes`: the operator's /readyz and /metrics ((status, content type, body) callables)."""
    use = services.club_api
    limit = RateLimit(per_minute)
    app = FastAPI(title="gdpr-ops-bot: the clubs' API", version="1",
                  description="Data-subject requests for your club's members (access, portability, erasure), "
                              "answered by your processor after its DPO's approval. Authenticate with your club's "
                              "token: `Authorization: Bearer gdprc_…`. Errors are RFC 9457 problem details.")

    def club(request: Request) -> str:
        address = request.client.host if request.client else "0.0.0.0"
        if request.url.scheme != "https" and not allow_http and not _loopback(address):
            raise PlainHttp("Use HTTPS: plain HTTP is accepted from loopback only.")
        auth = request.headers.get("authorization", "")
        code = use.authenticate(token=auth[7:].strip() if auth.lower().startswith("bearer ") else None,
                                address=address)
        request.state.club = code
        wait = limit.retry_after(code)
        if wait:
            raise TooManyCalls(wait)
        return code

    @app.middleware("http")
    async def audit(request: Request, call_next):  # noqa: ANN001, ANN202 - every call is in the audit chain
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", None)
        if route and route.startswith("/v1/"):
            use.record_call(club=getattr(request.state, "club", None), method=request.method, route=route,
                            status=response.status_code, request_id=request.path_params.get("request_id"))
            services.metrics.api_calls.labels(route=route, status=str(response.status_code)).inc()
        return response

    @app.exception_handler(GdprError)
    async def refused(request: Request, exc: GdprError) -> JSONResponse:
        if isinstance(exc, TooManyCalls):
            return problem(429, "rate-limited", "Too many calls", str(exc), **{"Retry-After": str(exc.retry_after)})
        if isinstance(exc, PlainHttp):
            return problem(403, "https-required", "HTTPS required", str(exc))
        for kind, status, name in PROBLEMS:
            if isinstance(exc, kind):
                extra = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
                return problem(status, name, name.replace("-", " ").capitalize(), str(exc), **extra)
        return problem(400, "refused", "Refused", str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
        return problem(422, "invalid", "Invalid request", where[:500])

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict:
        return {"ok": True}

    for path, route_fn in (routes or {}).items():
        app.add_api_route(path, _plain(route_fn), methods=["GET"], include_in_schema=False)

    @app.post("/v1/requests", status_code=201, response_model=RequestOut, summary="Open a request for a member")
    def open_request(body: NewRequest, request: Request, code: str = Depends(club)) -> JSONResponse:
        opened = _out(request, use.open(club=code, kind=body.kind, member=body.member, received_on=body.received_on))
        return JSONResponse(opened.model_dump(mode="json"), status_code=201,
                            headers={"Location": str(request.url_for("status", request_id=opened.id))})

    @app.get("/v1/requests/{request_id}", response_model=RequestOut, name="status", summary="One request's status")
    def status(request_id: int, request: Request, code: str = Depends(club)) -> RequestOut:
        return _out(request, use.status(club=code, request_id=request_id))

    @app.get("/v1/requests", response_model=RequestList, summary="Your club's requests, newest first")
    def listed(request: Request, offset: int = Query(0, ge=0), limit: int = Query(50, ge=1, le=100),
               code: str = Depends(club)) -> RequestList:
        page = use.listed(club=code, offset=offset, limit=limit)
        return RequestList(items=[_out(request, s) for s in page.items], offset=page.offset, total=page.total)

    @app.get("/v1/portability-schema", summary="The JSON Schema of an export's data.json (Art. 20)")
    def portability_schema(code: str = Depends(club)) -> dict:
        return services.exporter.schema("member")

    @app.get("/v1/ropa", summary="The processor's record of processing (Art. 30(2)) as it concerns your club")
    def ropa(code: str = Depends(club)) -> dict:
        version = services.records.for_club(club=code)
        return {"version": version.number, "created_at": version.created_at.isoformat(), "changes": version.changes,
                "record": version.record}

    @app.get("/v1/downloads/{token}", name="download", summary="The export (AES-256 zip), once",
             response_class=FileResponse)
    def download(token: str, code: str = Depends(club)) -> FileResponse:
        request_id, path = use.download(club=code, token=token)
        return FileResponse(path, media_type="application/zip", filename=f"export-R-{request_id}.zip",
                            background=BackgroundTask(use.sent, request_id, path))

    return app


def _plain(route_fn):  # noqa: ANN001, ANN202
    def endpoint() -> Response:
        status, kind, body = route_fn()
        return Response(body, status_code=status, media_type=kind)
    return endpoint

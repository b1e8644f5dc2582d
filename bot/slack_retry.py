"""How every Web API call survives Slack's own failures (slack_sdk's retry handlers on the one client):
429 waits what `Retry-After` says, 500/503 and dropped connections back off. A wait longer than
MAX_WAIT_S is not spent blocking a thread: the call fails, and what it was for is retried later (an
owed card update by the reconciler's tick, a job by its next attempt)."""
from __future__ import annotations

from http.client import RemoteDisconnected
from urllib.error import URLError

from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

MAX_WAIT_S = 30


class PatientRateLimitHandler(RateLimitErrorRetryHandler):
    """429: wait `Retry-After` (+ jitter) and try again, unless Slack asks for more than MAX_WAIT_S."""

    def _can_retry(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
                   error: Exception | None = None) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), ["1"])
        value = wait[0] if isinstance(wait, list) else wait
        return not str(value).isdigit() or int(value) <= MAX_WAIT_S


def slack_retries() -> list[RetryHandler]:
    backoff = BackoffRetryIntervalCalculator(backoff_factor=0.5)
    return [PatientRateLimitHandler(max_retry_count=5),
            ServerErrorRetryHandler(max_retry_count=4, interval_calculator=backoff),
            ConnectionErrorRetryHandler(max_retry_count=3, interval_calculator=backoff,
                                        error_types=[URLError, ConnectionResetError, RemoteDisconnected, TimeoutError])]

"""Global middleware: count requests and time acks, drop Slack's retried events, and turn
a listener's unexpected error into one log line."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from sqlalchemy.engine import Engine

from bot.clock import Clock
from bot.edge import DeliveryLog
from bot.observability import BotMetrics, log_event

log = logging.getLogger(__name__)


def request_kind(body: dict) -> str:
    if "command" in body:
        return "command"
    return str(body.get("type") or "unknown")


def register(app: AsyncApp, *, engine: Engine, clock: Clock, metrics: BotMetrics) -> None:
    # the duplicate check runs before the ack, never on the default pool, where services
    # can hold every thread: its own writer thread, one commit per burst
    deliveries = DeliveryLog(engine, clock)

    @app.middleware
    async def measure(body: dict, next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse:
        kind = request_kind(body)
        metrics.requests.labels(kind).inc()
        started = time.perf_counter()
        response = await next()
        metrics.acks.labels(kind).observe(time.perf_counter() - started)
        return response

    @app.middleware
    async def drop_duplicate_events(
        request: AsyncBoltRequest, body: dict, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse:
        """An Events API delivery is handled once, whatever X-Slack-Retry-Num says."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not await deliveries.first(event_id):
            retry = request.headers.get("x-slack-retry-num", ["0"])[0]
            log_event(log, "slack.event", event_id=event_id, retry=retry, outcome="duplicate")
            return BoltResponse(status=200, body="")
        return await next()

    @app.error
    async def on_error(error: Exception, body: dict) -> None:
        metrics.errors.labels(request_kind(body)).inc()
        log_event(
            log,
            "listener.error",
            logging.ERROR,
            kind=request_kind(body),
            error=type(error).__name__,
            detail=str(error)[:300],
        )

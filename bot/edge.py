"""The HTTP edge, before any route: request bodies are capped and must arrive in time,
Slack's signature is checked on the raw bytes before anything parses them, a signed
request is acted on once (a replay inside the signature window is acknowledged and
dropped, across replicas), and refusals are logged by size, route and reason only, at most
once per reason in a while."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import timedelta
from typing import Any

from slack_sdk.signature import SignatureVerifier
from sqlalchemy.engine import Engine

from bot.clock import Clock
from bot.observability import log_event
from storage.batch import GroupCommitWriter
from storage.db import session_scope
from storage.models import ProcessedSlackEvent
from storage.writes import insert_if_new, rows_changed

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024  # Slack's payloads and the intakes' JSON are far below this
BODY_TIMEOUT_SECONDS = 10.0  # the whole body, from the first byte to the last
SIGNATURE_WINDOW_SECONDS = 5 * 60  # Slack's: older timestamps are refused
# uvicorn's own limits beside the guard: a connection cap (503 beyond it) and idle timeouts
SERVER_LIMITS: dict[str, Any] = {"limit_concurrency": 256, "timeout_keep_alive": 5}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class RefusalLog:
    """One log line per reason per `every` seconds; the lines in between are counted."""

    def __init__(self, every: float = 10.0) -> None:
        self.every = every
        self._last: dict[str, float] = {}
        self._quiet: dict[str, int] = {}
        self._lock = threading.Lock()

    def refused(self, route: str, reason: str, size: int | None) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last.get(reason, -self.every) < self.every:
                self._quiet[reason] = self._quiet.get(reason, 0) + 1
                return
            self._last[reason] = now
            suppressed = self._quiet.pop(reason, 0)
        log_event(
            log,
            "http.refused",
            logging.WARNING,
            route=route,
            reason=reason,
            size=size,
            suppressed=suppressed,
        )


async def _answer(send: Send, status: int, text: str) -> None:
    body = json.dumps({"error": text}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyGuard:
    """ASGI middleware: reads each request body itself, at most `limit` bytes (declared or
    chunked) within `timeout` seconds, then hands the bytes to the app. Past either: 413 or
    408, and nothing more is read."""

    def __init__(
        self,
        app: ASGIApp,
        refusals: RefusalLog,
        limit: int = MAX_BODY_BYTES,
        timeout: float = BODY_TIMEOUT_SECONDS,
    ) -> None:
        self.app, self.refusals, self.limit, self.timeout = app, refusals, limit, timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        route = scope.get("path", "")
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            self.refusals.refused(route, "body too large", int(declared))
            await _answer(send, 413, f"request bodies are limited to {self.limit} bytes")
            return
        try:
            body = await asyncio.wait_for(self._read(receive), self.timeout)
        except TooLarge as exc:
            self.refusals.refused(route, "body too large", exc.size)
            await _answer(send, 413, f"request bodies are limited to {self.limit} bytes")
            return
        except TimeoutError:
            self.refusals.refused(route, "body too slow", None)
            await _answer(send, 408, "the request body did not arrive in time")
            return
        except Disconnected:
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                raise TooLarge(size)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


class TooLarge(Exception):
    def __init__(self, size: int) -> None:
        self.size = size


class Disconnected(Exception):
    pass


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def again() -> Message:
        nonlocal sent
        if sent:
            return await receive()  # after the body: the client's disconnect
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return again


class DeliveryLog:
    """Which deliveries were seen: a unique row per key, so it holds across replicas (the
    table of Events API deliveries, which also takes signatures of commands and clicks).
    It runs before every ack, so the keys of concurrent requests are written by one thread
    in one transaction each (group commit): a burst costs one commit, not one per request."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine, self.clock = engine, clock
        self.writer: GroupCommitWriter[str, bool] = GroupCommitWriter(
            self._write, "slack-deliveries"
        )

    async def first(self, key: str) -> bool:
        """True the first time `key` is seen."""
        return await asyncio.wrap_future(self.writer.submit(key))

    def _write(self, keys: list[str]) -> list[bool]:
        table = ProcessedSlackEvent.__table__  # type: ignore[attr-defined]
        now = self.clock.now()
        with session_scope(self.engine) as session:
            return [
                insert_if_new(session, table, {"event_id": key, "received_at": now}) for key in keys
            ]


# Deliveries are kept well past the signature window (a replay older than it is refused
# by its timestamp) and Slack's Events API retries (minutes), then forgotten.
DELIVERY_MEMORY = timedelta(hours=1)


def forget_old_deliveries(engine: Engine, clock: Clock) -> int:
    """Delete the delivery keys no replay or retry can match any more; how many went."""
    table = ProcessedSlackEvent.__table__  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        return rows_changed(
            session, table.delete().where(table.c.received_at < clock.now() - DELIVERY_MEMORY)
        )


class SlackGate:
    """Slack's signature on the raw bytes (a non-numeric or stale timestamp, a wrong
    signature: 401, before anything parses the body), then once per signature."""

    def __init__(self, secret: str, engine: Engine, clock: Clock, refusals: RefusalLog) -> None:
        self.verifier = SignatureVerifier(secret)
        self.engine, self.clock, self.refusals = engine, clock, refusals
        self.deliveries = DeliveryLog(engine, clock)

    def refusal(self, route: str, headers: Any, body: bytes) -> str | None:
        """Why the request is not Slack's, or None (the reason is logged, never the body)."""
        timestamp = headers.get("x-slack-request-timestamp", "")
        signature = headers.get("x-slack-signature", "")
        reason = None
        if not timestamp.isdigit() or not signature:
            reason = "missing or malformed signature headers"
        elif abs(time.time() - int(timestamp)) > SIGNATURE_WINDOW_SECONDS:
            reason = "timestamp outside the signature window"
        elif not self.verifier.is_valid(body, timestamp, signature):
            reason = "signature does not match"
        if reason:
            self.refusals.refused(route, reason, len(body))
        return reason

    async def first(self, signature: str) -> bool:
        """The same signed bytes again (a replay, or a resend) are not acted on twice."""
        key = "sig:" + hashlib.sha256(signature.encode()).hexdigest()[:60]
        return await self.deliveries.first(key)

"""The one ASGI app: /slack/events, /healthz, /api/freeze, /metrics, /hooks/alertmanager,
/api/feedback, /api/tickets, /ofrep/v1/evaluate/flags[/{key}]. Each endpoint is a small object holding only what it uses."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import BaseModel, SecretStr, ValidationError
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.edge import BODY_TIMEOUT_SECONDS, ASGIApp, BodyGuard, RefusalLog, SlackGate
from bot.feedback import FeedbackIn, FeedbackService, TextTooLong
from bot.flags.evaluation import PARSE_ERROR
from bot.flags.ofrep import OfrepAnswer, OfrepStore, answer_bulk, answer_one
from bot.metrics.alertmanager import AlertmanagerWebhook, AmAlert, TriggerSink, handle_alerts
from bot.observability import log_event
from bot.rollout import RolloutService
from bot.tickets import TicketEvent, TicketService, UnknownTicket

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApiTokens:
    """Bearer tokens of the non-Slack endpoints; an unset token keeps its endpoint closed."""

    alertmanager: SecretStr | None
    feedback: SecretStr | None
    tickets: SecretStr | None
    # where the breach start of an Alertmanager alert is read (Prometheus' activeAt)
    active_at: Callable[[AmAlert], datetime | None] | None = None


def bearer_ok(request: Request, secret: SecretStr | None) -> bool:
    """Unset secret: the endpoint is closed. Compared in constant time."""
    if secret is None:
        return False
    # bytes, as sent: a non-ASCII header is simply a wrong token (str would raise)
    sent = dict(request.scope["headers"]).get(b"authorization", b"")
    return hmac.compare_digest(sent, f"Bearer {secret.get_secret_value()}".encode())


def unauthorized() -> JSONResponse:
    return JSONResponse({"error": "a valid bearer token is required"}, status_code=401)


def field_errors(errors: list[tuple[str, str]], status: int = 422) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"field": field, "message": message} for field, message in errors]},
        status_code=status,
    )


async def validated(
    request: Request, model: type[M], context: Mapping[str, Any] | None = None
) -> M | Response:
    """The JSON body as `model` (validated with `context`), or a 400/422 naming each bad
    field. An `Idempotency-Key` header fills the body's `idempotency_key` when the model has
    one."""
    try:
        data = await request.json()
    except ValueError:
        return field_errors([("(body)", "not valid JSON")], status=400)
    key = request.headers.get("idempotency-key")
    if isinstance(data, dict) and key and "idempotency_key" in model.model_fields:
        data.setdefault("idempotency_key", key)
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        return field_errors(
            [(".".join(str(p) for p in e["loc"]) or "(body)", e["msg"]) for e in exc.errors()]
        )


# The freeze gate and /healthz read the database on a small pool of their own: the default
# pool runs the services, whose Slack calls may all be asleep on a hanging Slack.
PROBES = ThreadPoolExecutor(max_workers=4, thread_name_prefix="http-probes")


async def on_probe_pool(fn: Callable[[], R]) -> R:
    return await asyncio.get_running_loop().run_in_executor(PROBES, fn)


@dataclass(frozen=True)
class FreezeGate:
    """For deployment pipelines: 200 when deployments may proceed, 423 when frozen."""

    rollout: RolloutService

    async def get(self, _: Request) -> Response:
        state = await on_probe_pool(self.rollout.freeze_state)
        if not state.frozen:
            return JSONResponse({"frozen": False, "deployments": "allowed"})
        return JSONResponse(
            {
                "frozen": True,
                "deployments": "blocked",
                "reason": state.reason,
                "frozen_by": state.by,
                "since": state.at.isoformat() if state.at else None,
            },
            status_code=423,
        )


@dataclass(frozen=True)
class AlertmanagerHook:
    """Alertmanager's webhook (payload version 4) → the triggers' fire/resolve."""

    sink: TriggerSink
    token: SecretStr | None
    active_at: Callable[[AmAlert], datetime | None] | None = None

    async def post(self, request: Request) -> Response:
        if not bearer_ok(request, self.token):
            return unauthorized()
        payload = await validated(request, AlertmanagerWebhook)
        if isinstance(payload, Response):
            return payload
        active_at = self.active_at or (lambda _: None)
        handled = await asyncio.to_thread(handle_alerts, self.sink, payload.alerts, active_at)
        return JSONResponse({"handled": handled})


@dataclass(frozen=True)
class FeedbackIntake:
    """The checkout widget and the in-app survey: token-protected, validated JSON. The item
    is stored (committed) before the answer; it is posted to Slack after."""

    feedback: FeedbackService
    token: SecretStr | None

    async def post(self, request: Request) -> Response:
        if not bearer_ok(request, self.token):
            return unauthorized()
        item = await validated(request, FeedbackIn, self.feedback.rules())
        if isinstance(item, Response):
            return item
        try:
            stored, created = await self.feedback.submit_async(item)
        except TextTooLong as exc:
            return field_errors([("text", str(exc))])
        background = self.feedback.routes_in_background
        if background:
            self.feedback.route_soon()  # wakes the router thread; nothing blocks here
        return JSONResponse(
            {
                "id": stored.id,
                "route": stored.route,
                "category": stored.category,
                "duplicate": not created,
            },
            status_code=201 if created else 200,
            background=None if background else BackgroundTask(self.feedback.route_soon),
        )


@dataclass(frozen=True)
class TicketIntake:
    """Helpdesk ticket events; only tickets tagged for the beta are kept."""

    tickets: TicketService
    token: SecretStr | None
    tag: str

    async def post(self, request: Request) -> Response:
        if not bearer_ok(request, self.token):
            return unauthorized()
        event = await validated(request, TicketEvent)
        if isinstance(event, Response):
            return event
        try:
            ticket = await asyncio.to_thread(self.tickets.record, event)
        except UnknownTicket as exc:
            return field_errors([("ticket_id", str(exc))])
        if ticket is None:
            return JSONResponse({"kept": False, "why": f"not tagged {self.tag}"}, status_code=202)
        return JSONResponse({"kept": True, "id": ticket.id, "answered": bool(ticket.answered_at)})


@dataclass(frozen=True)
class Ofrep:
    """The embedded store over the OpenFeature Remote Evaluation Protocol. Bearer-protected
    (WARROOM_OFREP_TOKEN; unset: 401, closed). The store is cached (`OfrepStore`), so an
    evaluation is pure work on the event loop; only a stale cache reads the database."""

    store: OfrepStore
    token: SecretStr | None

    async def _snapshot_and_body(self, request: Request) -> tuple[Any, Any] | Response:
        if not bearer_ok(request, self.token):
            return JSONResponse(
                {"errorCode": "GENERAL", "errorDetails": "a valid bearer token is required"},
                status_code=401,
            )
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = _NOT_JSON
        snapshot = self.store.fresh() or await asyncio.to_thread(self.store.snapshot)
        return snapshot, body

    async def one(self, request: Request) -> Response:
        got = await self._snapshot_and_body(request)
        if isinstance(got, Response):
            return got
        snapshot, body = got
        key = request.path_params["key"]
        if body is _NOT_JSON:
            return _ofrep(OfrepAnswer(400, _not_json(key)))
        return _ofrep(answer_one(snapshot, key, body))

    async def bulk(self, request: Request) -> Response:
        got = await self._snapshot_and_body(request)
        if isinstance(got, Response):
            return got
        snapshot, body = got
        if body is _NOT_JSON:
            return _ofrep(OfrepAnswer(400, _not_json(None)))
        return _ofrep(answer_bulk(snapshot, body, request.headers.get("if-none-match")))


@dataclass(frozen=True)
class SlackEvents:
    """Slack's requests: the signature checked on the raw bytes and a replay dropped
    (`SlackGate`) before Bolt parses anything."""

    bolt: AsyncSlackRequestHandler
    gate: SlackGate | None

    async def post(self, request: Request) -> Response:
        if self.gate is not None:
            body = await request.body()  # already read, and capped, by BodyGuard
            if self.gate.refusal("/slack/events", request.headers, body):
                return JSONResponse({"error": "invalid request"}, status_code=401)
            if not await self.gate.first(request.headers["x-slack-signature"]):
                log_event(log, "slack.replay", outcome="dropped", size=len(body))
                return Response(status_code=200)
        return await self.bolt.handle(request)


_NOT_JSON = object()


def _not_json(key: str | None) -> dict[str, Any]:
    body = {"errorCode": PARSE_ERROR, "errorDetails": "the request body is not valid JSON"}
    return {"key": key, **body} if key else body


def _ofrep(answer: OfrepAnswer) -> Response:
    headers = {"ETag": answer.etag} if answer.etag else None
    if answer.body is None:
        return Response(status_code=answer.status, headers=headers)
    return JSONResponse(answer.body, status_code=answer.status, headers=headers)


def build_web(
    app: AsyncApp | None,
    *,
    rollout: RolloutService,
    alerts: TriggerSink,
    feedback: FeedbackService,
    tickets: TicketService,
    ticket_tag: str,
    tokens: ApiTokens,
    health: Callable[[], dict[str, Any]],
    registry: CollectorRegistry,
    ofrep: Ofrep | None = None,
    gate: SlackGate | None = None,
    refusals: RefusalLog | None = None,
    body_timeout: float = BODY_TIMEOUT_SECONDS,
) -> ASGIApp:

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok", **await on_probe_pool(health)})

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    ofrep_routes = (
        [
            Route("/ofrep/v1/evaluate/flags", ofrep.bulk, methods=["POST"]),
            Route("/ofrep/v1/evaluate/flags/{key}", ofrep.one, methods=["POST"]),
        ]
        if ofrep
        else []
    )
    # Socket Mode: Slack comes over the WebSocket, and unsigned HTTP must not reach the app
    slack_routes = (
        [
            Route(
                "/slack/events",
                SlackEvents(AsyncSlackRequestHandler(app), gate).post,
                methods=["POST"],
            )
        ]
        if app
        else []
    )
    web = Starlette(
        routes=[
            *ofrep_routes,
            *slack_routes,
            Route("/healthz", healthz, methods=["GET"]),
            Route("/api/freeze", FreezeGate(rollout).get, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            *_intake_routes(alerts, feedback, tickets, ticket_tag, tokens),
        ]
    )
    return BodyGuard(web, refusals or RefusalLog(), timeout=body_timeout)


def _intake_routes(
    alerts: TriggerSink,
    feedback: FeedbackService,
    tickets: TicketService,
    ticket_tag: str,
    tokens: ApiTokens,
) -> list[Route]:
    return [
        Route(
            "/hooks/alertmanager",
            AlertmanagerHook(alerts, tokens.alertmanager, tokens.active_at).post,
            methods=["POST"],
        ),
        Route("/api/feedback", FeedbackIntake(feedback, tokens.feedback).post, methods=["POST"]),
        Route(
            "/api/tickets",
            TicketIntake(tickets, tokens.tickets, ticket_tag).post,
            methods=["POST"],
        ),
    ]

"""The one ASGI app: /slack/events, /healthz, /api/freeze, /metrics, /hooks/alertmanager,
/api/feedback, /api/tickets."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, SecretStr, ValidationError
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.feedback import FeedbackIn, TextTooLong
from bot.metrics.rules import TRIGGER_LABEL
from bot.services import Services
from bot.tickets import TicketEvent

M = TypeVar("M", bound=BaseModel)


def handle_alerts(services: Services, alerts: list[dict]) -> list[dict]:
    handled = []
    for alert in alerts:
        labels = alert.get("labels") or {}
        trigger = labels.get(TRIGGER_LABEL)
        if not trigger:
            continue
        if alert.get("status") == "firing":
            started = datetime.fromisoformat(str(alert["startsAt"]).replace("Z", "+00:00"))
            episode = services.evaluator.fire(
                trigger,
                "alertmanager",
                started,
                {
                    "alertname": labels.get("alertname", ""),
                    "source": "alertmanager",
                    "generatorURL": alert.get("generatorURL", ""),
                    **(alert.get("annotations") or {}),
                },
                fingerprint=str(alert.get("fingerprint", "")),
            )
            handled.append({"trigger": trigger, "fired": episode is not None})
        elif alert.get("status") == "resolved":
            episode = services.evaluator.resolve(trigger)
            handled.append({"trigger": trigger, "resolved": episode is not None})
    return handled


def bearer_ok(request: Request, secret: SecretStr | None) -> bool:
    """Unset secret: the endpoint is closed. Compared in constant time."""
    expected = f"Bearer {secret.get_secret_value()}" if secret else None
    return bool(expected) and hmac.compare_digest(
        request.headers.get("authorization", ""), expected or ""
    )


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


def build_web(app: AsyncApp, services: Services) -> Starlette:
    slack = AsyncSlackRequestHandler(app)

    async def slack_events(request: Request) -> Response:
        return await slack.handle(request)

    async def healthz(_: Request) -> Response:
        health = await asyncio.to_thread(services.schedule.health)
        scheduler = services.scheduler
        return JSONResponse(
            {
                "status": "ok",
                "playbook": services.playbook.name,
                "scheduler": {
                    "running": bool(scheduler and scheduler.running),
                    "next_run": health.next_run.isoformat() if health.next_run else None,
                    "missed_last_24h": health.missed_last_24h,
                },
            }
        )

    async def freeze(_: Request) -> Response:
        """For deployment pipelines: 200 when deployments may proceed, 423 when frozen."""
        state = await asyncio.to_thread(services.rollout.freeze_state)
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

    async def alertmanager(request: Request) -> Response:
        """Alertmanager's webhook (payload version 4): alerts labelled `warroom_trigger`
        drive the same fire/resolve as the bot's own evaluator."""
        if not bearer_ok(request, services.settings.warroom_alertmanager_token):
            return unauthorized()
        try:
            payload = await request.json()
            alerts = payload["alerts"]
            if str(payload.get("version")) != "4" or not isinstance(alerts, list):
                raise ValueError("expected Alertmanager webhook version 4 with a list of alerts")
        except (ValueError, KeyError, TypeError) as exc:
            return JSONResponse({"error": f"not an Alertmanager webhook: {exc}"}, status_code=400)
        handled = await asyncio.to_thread(handle_alerts, services, alerts)
        return JSONResponse({"handled": handled})

    async def feedback(request: Request) -> Response:
        """The checkout widget and the in-app survey: token-protected, validated JSON.
        The item is stored (committed) before the answer; it is posted to Slack after."""
        if not bearer_ok(request, services.settings.warroom_feedback_token):
            return unauthorized()
        item = await validated(request, FeedbackIn, services.feedback.rules())
        if isinstance(item, Response):
            return item
        try:
            stored, created = await services.feedback.submit_async(item)
        except TextTooLong as exc:
            return field_errors([("text", str(exc))])
        feedback = services.feedback
        if feedback.routes_in_background:
            feedback.route_soon()  # wakes the router thread; nothing blocks here
        return JSONResponse(
            {
                "id": stored.id,
                "route": stored.route,
                "category": stored.category,
                "duplicate": not created,
            },
            status_code=201 if created else 200,
            background=None
            if feedback.routes_in_background
            else BackgroundTask(feedback.route_soon),
        )

    async def tickets(request: Request) -> Response:
        """Helpdesk ticket events; only tickets tagged for the beta are kept."""
        if not bearer_ok(request, services.settings.warroom_tickets_token):
            return unauthorized()
        event = await validated(request, TicketEvent)
        if isinstance(event, Response):
            return event
        ticket = await asyncio.to_thread(services.tickets.record, event)
        if ticket is None:
            tag = services.playbook.feedback.ticket_tag
            return JSONResponse({"kept": False, "why": f"not tagged {tag}"}, status_code=202)
        return JSONResponse({"kept": True, "id": ticket.id, "answered": bool(ticket.answered_at)})

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/api/freeze", freeze, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/hooks/alertmanager", alertmanager, methods=["POST"]),
            Route("/api/feedback", feedback, methods=["POST"]),
            Route("/api/tickets", tickets, methods=["POST"]),
        ]
    )

"""The one ASGI app: /slack/events, /healthz, /api/freeze, /metrics."""

from __future__ import annotations

import asyncio
import hmac
from datetime import datetime

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.feedback import FeedbackIn
from bot.metrics.rules import TRIGGER_LABEL
from bot.services import Services


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
        token = services.settings.warroom_alertmanager_token
        expected = f"Bearer {token.get_secret_value()}" if token else None
        if not expected or not hmac.compare_digest(
            request.headers.get("authorization", ""), expected
        ):
            return JSONResponse({"error": "a valid bearer token is required"}, status_code=401)
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
        """The checkout widget and the in-app survey: token-protected, validated JSON."""
        token = services.settings.warroom_feedback_token
        expected = f"Bearer {token.get_secret_value()}" if token else None
        if not expected or not hmac.compare_digest(
            request.headers.get("authorization", ""), expected
        ):
            return JSONResponse({"error": "a valid bearer token is required"}, status_code=401)
        try:
            data = await request.json()
        except ValueError:
            return JSONResponse(
                {"errors": [{"field": "(body)", "message": "not valid JSON"}]}, status_code=400
            )
        if isinstance(data, dict) and request.headers.get("idempotency-key"):
            data.setdefault("idempotency_key", request.headers["idempotency-key"])
        try:
            item = FeedbackIn.model_validate(data)
            limit = services.playbook.feedback.max_text_length
            if len(item.text) > limit:
                raise ValueError(limit)
        except ValidationError as exc:
            errors = [
                {"field": ".".join(str(p) for p in e["loc"]) or "(body)", "message": e["msg"]}
                for e in exc.errors()
            ]
            return JSONResponse({"errors": errors}, status_code=422)
        except ValueError as exc:
            return JSONResponse(
                {"errors": [{"field": "text", "message": f"at most {exc.args[0]} characters"}]},
                status_code=422,
            )
        stored, created = await asyncio.to_thread(services.feedback.submit, item)
        return JSONResponse(
            {
                "id": stored.id,
                "route": stored.route,
                "category": stored.category,
                "duplicate": not created,
            },
            status_code=201 if created else 200,
        )

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
        ]
    )

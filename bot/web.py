"""The one ASGI app: /slack/events, /healthz, /api/freeze, /metrics."""

from __future__ import annotations

import asyncio

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.services import Services


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

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/api/freeze", freeze, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ]
    )

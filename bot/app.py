"""The Bolt app: one AsyncApp whatever the transport (HTTP, Socket Mode, local workspace)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette

import handlers
from bot.metrics.kpis import kpi_lines
from bot.services import Services
from bot.slack_out.clients import async_client
from bot.web import ApiTokens, build_web
from handlers import middleware


def build_app(services: Services, signing_secret: str | None = None) -> AsyncApp:
    settings = services.settings
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    secret = signing_secret or (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    )
    app = AsyncApp(
        signing_secret=secret,
        # Socket Mode has no signatures to verify; HTTP mode always verifies.
        request_verification_enabled=secret is not None,
        client=async_client(token or "", settings.api_url, services.metrics),
        process_before_response=False,
    )
    middleware.register(app, engine=services.engine, clock=services.clock, metrics=services.metrics)

    @app.middleware
    async def inject_services(context, next):  # type: ignore[no-untyped-def]  # until every surface is wired by register()
        context["services"] = services
        return await next()

    handlers.register_all(app, services)
    reader = services.evaluator.reader
    handlers.rollout.register(
        app,
        rollout=services.rollout,
        schedule=services.schedule,
        playbook=services.playbook,
        kpis=lambda: kpi_lines(services.playbook, reader),
    )
    return app


def build_asgi(services: Services, signing_secret: str | None = None) -> Starlette:
    """The Bolt app behind /slack/events, beside the bot's own HTTP endpoints."""
    settings = services.settings
    return build_web(
        build_app(services, signing_secret),
        rollout=services.rollout,
        alerts=services.evaluator,
        feedback=services.feedback,
        tickets=services.tickets,
        ticket_tag=services.playbook.feedback.ticket_tag,
        tokens=ApiTokens(
            alertmanager=settings.warroom_alertmanager_token,
            feedback=settings.warroom_feedback_token,
            tickets=settings.warroom_tickets_token,
        ),
        health=services.health,
        registry=services.metrics.registry,
    )

"""The Bolt app: one AsyncApp whatever the transport (HTTP, Socket Mode, local workspace),
each surface registered with only the services it uses; and the ASGI app around it."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.edge import ASGIApp, RefusalLog, SlackGate
from bot.services import Services
from bot.slack_out.clients import async_client
from bot.web import ApiTokens, Ofrep, build_web
from handlers import events, fallback, feedback, home, middleware, rollback, rollout, schedule


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
    register_surfaces(app, services)
    return app


def register_surfaces(app: AsyncApp, s: Services) -> None:
    rollout.register(
        app, rollout=s.rollout, planner=s.planner, playbook=s.playbook, kpis=s.kpi_lines
    )
    rollback.register(app, rollback=s.rollback, runbook=s.runbook, playbook=s.playbook)
    schedule.register(app, checklists=s.checklists, council=s.council)
    events.register(app)
    feedback.register(app, feedback=s.feedback, playbook=s.playbook)
    home.register(app, home=s.home, completion=s.completion, playbook=s.playbook, clock=s.clock)
    fallback.register(app)  # last: what no surface listens to is still acknowledged


def build_asgi(
    services: Services, signing_secret: str | None = None, *, slack_over_http: bool = True
) -> ASGIApp:
    """The Bolt app behind /slack/events, beside the bot's own HTTP endpoints; in Socket
    Mode (slack_over_http False) the endpoints alone."""
    settings = services.settings
    secret = signing_secret or (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    )
    refusals = RefusalLog()
    gate = (
        SlackGate(secret, services.engine, services.clock, refusals)
        if slack_over_http and secret
        else None
    )
    return build_web(
        build_app(services, signing_secret) if slack_over_http else None,
        gate=gate,
        refusals=refusals,
        body_timeout=settings.warroom_body_timeout_seconds,
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
        ofrep=Ofrep(services.ofrep, settings.warroom_ofrep_token) if services.ofrep else None,
    )

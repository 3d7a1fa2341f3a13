"""The Bolt app: one AsyncApp whatever the transport (HTTP, Socket Mode, local workspace),
each surface registered with only the services it uses; and the ASGI app around it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient

from bot.edge import ASGIApp, RefusalLog, SlackGate
from bot.metrics.alertmanager import PrometheusActiveAt
from bot.observability import log_event
from bot.services import Services
from bot.slack_out.clients import async_client
from bot.web import ApiTokens, Ofrep, build_web
from handlers import (
    comms,
    events,
    fallback,
    feedback,
    home,
    lessons,
    middleware,
    phase2,
    rollback,
    rollout,
    schedule,
)

log = logging.getLogger(__name__)


class BotIdentity:
    """Bolt's `authorize`: the bot token, with the bot's user and bot ids from auth.test
    resolved once, in the background, and cached. A request never waits on auth.test, so
    an unreachable Slack Web API does not turn every command into "installation no longer
    available" (until the ids are known, only the bot's own events are not filtered out)."""

    def __init__(self, token: str, client: AsyncWebClient) -> None:
        self.token, self.client = token, client
        self.bot_id: str | None = None
        self.bot_user_id: str | None = None
        self._lookup: asyncio.Task[None] | None = None

    async def _resolve(self) -> None:
        try:
            answer = await self.client.auth_test()
            self.bot_id, self.bot_user_id = answer.get("bot_id"), answer.get("user_id")
        except Exception as exc:  # noqa: BLE001 - any failure: the next request tries again
            log_event(log, "slack.identity", outcome="unresolved", error=type(exc).__name__)

    def authorizer(self) -> Callable[..., Awaitable[AuthorizeResult]]:
        """A plain function: Bolt passes arguments by the names it finds (no `self`)."""

        async def authorize(
            enterprise_id: str | None, team_id: str | None, user_id: str | None
        ) -> AuthorizeResult:
            return self.result(enterprise_id, team_id, user_id)

        return authorize

    def result(
        self, enterprise_id: str | None, team_id: str | None, user_id: str | None
    ) -> AuthorizeResult:
        if self.bot_user_id is None and (self._lookup is None or self._lookup.done()):
            self._lookup = asyncio.create_task(self._resolve())
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            bot_token=self.token,
            bot_id=self.bot_id,
            bot_user_id=self.bot_user_id,
        )


def build_app(services: Services, signing_secret: str | None = None) -> AsyncApp:
    settings = services.settings
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    secret = signing_secret or (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    )
    client = async_client(token or "", settings.api_url, services.metrics)
    app = AsyncApp(
        # named here: unnamed, Bolt walks the whole call stack (inspect.stack) to name it
        name="warroom",
        signing_secret=secret,
        # Socket Mode has no signatures to verify; HTTP mode always verifies.
        request_verification_enabled=secret is not None,
        client=client,
        authorize=BotIdentity(token or "", client).authorizer(),
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
    schedule.register(app, checklists=s.checklists, council=s.council, milestones=s.milestones)
    comms.register(app, calendar=s.comms, staffing=s.staffing)
    events.register(app)
    feedback.register(app, feedback=s.feedback, playbook=s.playbook)
    home.register(app, home=s.home, completion=s.completion, playbook=s.playbook, clock=s.clock)
    phase2.register(app, backlog=s.backlog, risks=s.risks, playbook=s.playbook)
    lessons.register(app, lessons=s.lessons, playbook=s.playbook)
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
            active_at=PrometheusActiveAt(lambda: services.evaluator.reader),
        ),
        health=services.health,
        registry=services.metrics.registry,
        ofrep=Ofrep(services.ofrep, settings.warroom_ofrep_token) if services.ofrep else None,
    )

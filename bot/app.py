"""The Bolt app: one AsyncApp whatever the transport (HTTP, Socket Mode, local workspace)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

import handlers
from bot.services import Services
from bot.slack_out.clients import async_client
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
    middleware.register(app, services)
    handlers.register_all(app, services)
    return app

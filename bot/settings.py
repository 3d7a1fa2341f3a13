"""Settings from the environment. Secrets are SecretStr: never printed, never logged."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

SLACK_DEFAULT_API_URL = "https://slack.com/api/"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None  # xapp-… for Socket Mode
    slack_api_url: str = SLACK_DEFAULT_API_URL
    database_url: str = "sqlite:///./warroom.db"
    warroom_playbook: str | None = Field(None, description="path; default the bundled playbook")
    warroom_log_level: str = "INFO"
    # Secrets of the rollback runbook's integrations (the playbook says where, these say how).
    jira_email: str | None = None
    jira_api_token: SecretStr | None = None
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    warroom_hook_token: SecretStr | None = None  # bearer for the cache and banner endpoints
    # How long a replica's claim on a running runbook lasts without renewal (a crashed
    # replica's runbook is taken up by another, or by itself after a restart, after this).
    warroom_runbook_lease_seconds: float = Field(60, gt=0)
    # How long a request body may take to arrive, whole (a slow-drip client is cut off).
    warroom_body_timeout_seconds: float = Field(10, gt=0)
    # This process's name on runbook leases and scheduled-post claims; unset: host, pid and a
    # random suffix (so a restarted process is a new replica).
    warroom_replica_id: str = ""
    prometheus_url: str | None = None  # e.g. http://prometheus:9090; unset: no live metrics
    prometheus_token: SecretStr | None = None
    warroom_alertmanager_token: SecretStr | None = None  # bearer for POST /hooks/alertmanager
    warroom_feedback_token: SecretStr | None = None  # bearer for POST /api/feedback
    warroom_tickets_token: SecretStr | None = None  # bearer for POST /api/tickets (helpdesk)
    pagerduty_routing_key: SecretStr | None = None  # Events API v2; unset: no paging
    pagerduty_events_url: str = "https://events.pagerduty.com/v2/enqueue"
    # The flag provider the playbook names (flag_provider.kind): where it is, how to sign in.
    unleash_url: str | None = None  # e.g. http://unleash:4242 (the Admin API is under /api/admin)
    unleash_admin_token: SecretStr | None = None
    flags_http_url: str | None = None  # the in-house flag service's base URL
    flags_http_token: SecretStr | None = None
    # The embedded store served to services: a bearer for /ofrep/v1/…, and a flagd
    # flag-definitions file kept current on every change (unset: not written).
    warroom_ofrep_token: SecretStr | None = None
    warroom_flagd_file: str | None = None

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        # The message never repeats the value: the URL may carry a password.
        try:
            make_url(value)
        except ArgumentError:
            raise ValueError(
                "expected a database URL such as sqlite:///./warroom.db "
                "or postgresql+psycopg://user:password@host/db"
            ) from None
        return value

    @field_validator("warroom_log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        levels = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
        if value.upper() not in levels:
            raise ValueError(f"expected one of {', '.join(levels)}")
        return value.upper()

    @property
    def api_url(self) -> str:
        """slack_sdk joins method names onto this, so it must end with a slash."""
        return self.slack_api_url if self.slack_api_url.endswith("/") else self.slack_api_url + "/"

    def problems_for(self, mode: str) -> list[str]:
        """What is missing to run in `mode` (serve | run)."""
        missing = []
        if not self.slack_bot_token:
            missing.append("SLACK_BOT_TOKEN is not set (the bot token, xoxb-…)")
        if mode == "serve" and not self.slack_signing_secret:
            missing.append("SLACK_SIGNING_SECRET is not set (Basic Information → App Credentials)")
        if mode == "run" and not self.slack_app_token:
            missing.append(
                "SLACK_APP_TOKEN is not set (an app-level token xapp-… with connections:write)"
            )
        return missing

"""Slack Web API clients with slack_sdk's retry handlers, counted in the bot's metrics."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.observability import BotMetrics

RETRIES = 3
TIMEOUT_SECONDS = 10


def _method(api_method: str) -> str:
    return api_method.rsplit("/", 1)[-1]


class CountingWebClient(WebClient):
    metrics: BotMetrics | None = None

    def api_call(self, api_method: str, **kwargs: Any) -> Any:
        if self.metrics:
            self.metrics.slack_calls.labels(_method(api_method)).inc()
        try:
            return super().api_call(api_method, **kwargs)
        except Exception:
            if self.metrics:
                self.metrics.slack_failures.labels(_method(api_method)).inc()
            raise


class CountingAsyncWebClient(AsyncWebClient):
    metrics: BotMetrics | None = None

    async def api_call(self, api_method: str, **kwargs: Any) -> Any:
        if self.metrics:
            self.metrics.slack_calls.labels(_method(api_method)).inc()
        try:
            return await super().api_call(api_method, **kwargs)
        except Exception:
            if self.metrics:
                self.metrics.slack_failures.labels(_method(api_method)).inc()
            raise


def sync_client(
    token: str, base_url: str, metrics: BotMetrics | None = None, rate_limits_only: bool = False
) -> WebClient:
    """`rate_limits_only`: the outbox's client. A 429 means Slack did nothing, so waiting out
    Retry-After is safe; after a timeout or a 5xx a post may have been made, and the outbox
    looks before it sends again (a blind retry could post twice)."""
    handlers: list[RetryHandler] = [RateLimitErrorRetryHandler(max_retry_count=RETRIES)]
    if not rate_limits_only:
        handlers += [
            ConnectionErrorRetryHandler(max_retry_count=RETRIES),
            ServerErrorRetryHandler(max_retry_count=RETRIES),
        ]
    client = CountingWebClient(
        token=token, base_url=base_url, timeout=TIMEOUT_SECONDS, retry_handlers=handlers
    )
    client.metrics = metrics
    return client


def async_client(token: str, base_url: str, metrics: BotMetrics | None = None) -> AsyncWebClient:
    client = CountingAsyncWebClient(
        token=token,
        base_url=base_url,
        timeout=TIMEOUT_SECONDS,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=RETRIES),
            AsyncConnectionErrorRetryHandler(max_retry_count=RETRIES),
            AsyncServerErrorRetryHandler(max_retry_count=RETRIES),
        ],
    )
    client.metrics = metrics
    return client


__all__ = ["SlackApiError", "async_client", "sync_client"]

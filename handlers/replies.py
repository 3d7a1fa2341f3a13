"""Shared reply helpers: run a service off the event loop, turn its errors into messages."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.errors import WarroomError
from bot.observability import log_event
from bot.slack_out.messages.common import as_dicts, error_message

log = logging.getLogger(__name__)
T = TypeVar("T")


async def call_service(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Services are synchronous (SQLModel); run them on a worker thread, never on the loop."""
    return await asyncio.to_thread(fn, *args, **kwargs)


_sessions: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}


def _shared_session() -> aiohttp.ClientSession:
    """One keep-alive HTTP session per event loop for response_url posts (Bolt's own
    `respond` opens a new session, and a new connection, for every reply)."""
    loop = asyncio.get_running_loop()
    session = _sessions.get(loop)
    if session is None or session.closed:
        session = _sessions[loop] = aiohttp.ClientSession()
    return session


async def close_shared_session() -> None:
    session = _sessions.pop(asyncio.get_running_loop(), None)
    if session is not None:
        await session.close()


async def reply(respond: AsyncRespond, **payload: Any) -> None:
    """Post to the interaction's response_url, with slack_sdk's retry handlers."""
    client = AsyncWebhookClient(
        url=respond.response_url or "",
        session=_shared_session(),
        timeout=10,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )
    response = await client.send_dict(payload)
    if response.status_code != 200:
        log_event(
            log,
            "slack.respond",
            logging.ERROR,
            status=response.status_code,
            outcome="failed",
            error=str(response.body)[:200],
        )


async def ephemeral(respond: AsyncRespond, text: str, blocks: list[Block]) -> None:
    await reply(
        respond,
        response_type="ephemeral",
        text=text,
        blocks=as_dicts(blocks),
        replace_original=False,
    )


async def reply_error(respond: AsyncRespond, error: Exception, where: str, user: str) -> None:
    if isinstance(error, WarroomError):
        log_event(log, where, who=user, outcome="refused", reason=error.message[:200])
        text, blocks = error_message(error)
    else:
        incident = uuid.uuid4().hex[:8]
        log.exception(where, extra={"fields": {"who": user, "outcome": "error", "ref": incident}})
        text, blocks = error_message(
            WarroomError(
                f"Something went wrong on my side (ref `{incident}`); nothing was changed "
                "unless the channel says so.",
                "Try again, or check `/rollout history`.",
            )
        )
    await ephemeral(respond, text, blocks)


async def for_person(
    respond: AsyncRespond, where: str, user: str, work: Callable[[], Awaitable[T]], **fields: Any
) -> tuple[bool, T | None]:
    """Do a person's request after the ack: any error becomes a message for them (and a log
    line), success one log line. Returns (succeeded, result)."""
    try:
        result = await work()
    except Exception as error:  # noqa: BLE001 - every error becomes a message for the person
        await reply_error(respond, error, where, user)
        return False, None
    log_event(log, where, who=user, outcome="ok", **fields)
    return True, result


async def permalink(client: AsyncWebClient, channel: str, ts: str) -> str:
    """A message's link, for a record that points back to it (a deep link if Slack says no)."""
    try:
        return str((await client.chat_getPermalink(channel=channel, message_ts=ts))["permalink"])
    except SlackApiError:
        return f"slack://channel?id={channel}&message={ts}"

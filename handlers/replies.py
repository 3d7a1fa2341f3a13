"""Shared reply helpers: run a service off the event loop, turn its errors into messages."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.models.blocks import Block

from bot.errors import WarroomError
from bot.messages.common import as_dicts, error_message
from bot.observability import log_event

log = logging.getLogger(__name__)
T = TypeVar("T")


async def call_service(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Services are synchronous (SQLModel); run them on a worker thread, never on the loop."""
    return await asyncio.to_thread(fn, *args, **kwargs)


async def ephemeral(respond: AsyncRespond, text: str, blocks: list[Block]) -> None:
    await respond(
        response_type="ephemeral", text=text, blocks=as_dicts(blocks), replace_original=False
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

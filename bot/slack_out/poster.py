"""The Slack side of the outbox: the Web API calls that post, update, find and upload one
message. Each returns what Slack answered or raises `SendError`, saying whether a retry
could help and whether Slack may have taken the call before its answer was lost."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.observability import log_event

log = logging.getLogger(__name__)

METADATA_TYPE = "warroom_outbox"  # Slack message metadata naming the outbox row

# Slack's answers that no retry changes: the message or the channel is wrong, not Slack.
PERMANENT = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "no_text",
        "invalid_arguments",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "missing_scope",
        "invalid_channel",
    }
)


@dataclass
class SendError(Exception):
    error: str  # Slack's error code, or the exception's kind (never its text: URLs, tokens)
    permanent: bool = False
    uncertain: bool = False  # Slack may have acted on it: look before sending it again
    retry_after: float = 0.0

    def __str__(self) -> str:
        return self.error


def _send_error(exc: Exception) -> SendError:
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", 200)
        error = str(exc.response.get("error") or f"http_{status}")
        if status == 429:
            retry_after = float(exc.response.headers.get("Retry-After", 1) or 1)
            return SendError(error, retry_after=retry_after)
        return SendError(error, permanent=error in PERMANENT, uncertain=status >= 500)
    return SendError(type(exc).__name__, uncertain=True)  # a timeout, a reset: unknown


class SlackTransport:
    """One call per method, through the client's retry handlers (rate limits only: a
    resent post after a timeout or a 5xx could post twice, so the outbox decides)."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def _call(self, event: str, where: str, call: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return call(**kwargs)
        except (SlackApiError, SlackClientError, OSError) as exc:
            error = _send_error(exc)
            log_event(log, event, logging.ERROR, channel=where, outcome="failed", error=error.error)
            raise error from None

    def post(
        self, channel: str, text: str, blocks: list[dict[str, Any]], thread_ts: str | None, key: int
    ) -> tuple[str, str]:
        """(channel ID, ts): Slack answers with the ID even when a post names the channel."""
        response = self._call(
            "slack.post",
            channel,
            self.client.chat_postMessage,
            channel=channel,
            text=text,
            blocks=blocks,
            thread_ts=thread_ts,
            unfurl_links=False,
            metadata={"event_type": METADATA_TYPE, "event_payload": {"id": str(key)}},
        )
        return str(response.get("channel") or channel), str(response.get("ts"))

    def find(self, channel: str, key: int, thread_ts: str | None) -> tuple[str, str] | None:
        """The post carrying this outbox key, if an earlier attempt made it: among the
        channel's (or the thread's) latest 200 messages."""
        # a thread's replies, or the channel's top-level messages: the same answer's shape
        where = {"ts": thread_ts} if thread_ts else {}
        history = (
            self.client.conversations_replies if thread_ts else self.client.conversations_history
        )
        response = self._call(
            "slack.history",
            channel,
            history,
            channel=channel,
            limit=200,
            include_all_metadata=True,
            **where,
        )
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == METADATA_TYPE and payload.get("id") == str(key):
                return str(response.get("channel") or channel), str(message.get("ts"))
        return None

    def permalink(self, channel: str, ts: str) -> str:
        response = self._call(
            "slack.permalink",
            channel,
            self.client.chat_getPermalink,
            channel=channel,
            message_ts=ts,
        )
        return str(response.get("permalink") or "")

    def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None:
        self._call(
            "slack.update",
            channel,
            self.client.chat_update,
            channel=channel,
            ts=ts,
            text=text,
            blocks=blocks,
        )

    def upload(
        self, channel_id: str, thread_ts: str | None, data: bytes, filename: str, title: str
    ) -> str:
        """The file's ID, shared in the channel (in the thread when given) through
        files_upload_v2's external upload flow."""
        response = self._call(
            "slack.upload",
            channel_id,
            self.client.files_upload_v2,
            channel=channel_id,
            thread_ts=thread_ts,
            file=data,
            filename=filename,
            title=title,
        )
        file: dict[str, Any] = response.get("file") or {}
        return str(file.get("id") or "")

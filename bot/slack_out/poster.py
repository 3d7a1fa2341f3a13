"""The one poster every service and job uses to post, update and thread messages."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.models.blocks import Block

from bot.observability import log_event
from bot.slack_out.messages.common import as_dicts

log = logging.getLogger(__name__)


def _log_failure(event: str, channel: str, exc: Exception) -> None:
    """Slack's error code when it answered, else the exception's kind (never its text,
    which could carry a URL with a token)."""
    error = exc.response.get("error") if isinstance(exc, SlackApiError) else type(exc).__name__
    log_event(log, event, logging.ERROR, channel=channel, outcome="failed", error=error)


class Poster:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def post(
        self, channel: str, text: str, blocks: list[Block], thread_ts: str | None = None
    ) -> str | None:
        """Returns the message ts, or None when Slack refused or could not be reached
        after the client's retries. The failure is logged, never raised: the change it
        announces is already recorded."""
        posted = self.post_message(channel, text, blocks, thread_ts)
        return posted[1] if posted else None

    def post_message(
        self, channel: str, text: str, blocks: list[Block], thread_ts: str | None = None
    ) -> tuple[str, str] | None:
        """As `post`, returning (channel ID, ts): Slack answers with the ID even when the
        playbook names the channel, and the files API takes only IDs."""
        try:
            response = self.client.chat_postMessage(
                channel=channel,
                text=text,
                blocks=as_dicts(blocks),
                thread_ts=thread_ts,
                unfurl_links=False,
            )
        except (SlackApiError, SlackClientError, OSError) as exc:
            _log_failure("slack.post", channel, exc)
            return None
        return str(response.get("channel") or channel), str(response.get("ts"))

    def upload(
        self, channel_id: str, thread_ts: str | None, data: bytes, filename: str, title: str
    ) -> str | None:
        """A file in the channel (in the thread when given) through files_upload_v2's
        external upload flow; the file ID, or None (logged) when it could not be shared."""
        try:
            response = self.client.files_upload_v2(
                channel=channel_id, thread_ts=thread_ts, file=data, filename=filename, title=title
            )
        except (SlackApiError, SlackClientError, OSError) as exc:
            _log_failure("slack.upload", channel_id, exc)
            return None
        file: dict[str, Any] = response.get("file") or {}
        return str(file.get("id") or "") or None

    def permalink(self, channel: str, ts: str) -> str:
        """A message's permalink, or "" when Slack gave none (logged)."""
        try:
            response = self.client.chat_getPermalink(channel=channel, message_ts=ts)
        except (SlackApiError, SlackClientError, OSError) as exc:
            _log_failure("slack.permalink", channel, exc)
            return ""
        return str(response.get("permalink") or "")

    def update(self, channel: str, ts: str, text: str, blocks: list[Block]) -> bool:
        try:
            self.client.chat_update(channel=channel, ts=ts, text=text, blocks=as_dicts(blocks))
        except (SlackApiError, SlackClientError, OSError) as exc:
            _log_failure("slack.update", channel, exc)
            return False
        return True

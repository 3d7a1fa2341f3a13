"""Resolve a Slack user group (S…) to its members with `usergroups.users.list`."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.observability import log_event

log = logging.getLogger(__name__)


class UserGroupResolver:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def __call__(self, group_id: str) -> set[str] | None:
        try:
            response = self.client.usergroups_users_list(usergroup=group_id)
        except (SlackApiError, SlackClientError, OSError) as exc:
            # Fail closed: a member we cannot confirm gets no role from this group.
            log_event(
                log,
                "usergroups.resolve",
                logging.WARNING,
                group=group_id,
                outcome="failed",
                error=str(exc)[:200],
            )
            return None
        return set(response.get("users", []))

"""Slack's own request formats, signed: used by the local workspace, the tests and bench/."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

TEAM = {"id": "TLOCAL", "domain": "local"}
APP_ID = "AWARROOM"


def signed_headers(
    secret: str,
    body: str,
    timestamp: int | None = None,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None  # None only without a secret, and one is always given
    return {
        "content-type": content_type,
        "x-slack-request-timestamp": ts,
        "x-slack-signature": signature,
    }


def _trigger_id() -> str:
    return f"{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:12]}"


def _interaction(kind: str, user: str, **fields: Any) -> str:
    """The envelope every interactive payload shares, as Slack form-encodes it."""
    payload = {
        "type": kind,
        "team": TEAM,
        "user": {"id": user, "username": user.lower(), "team_id": TEAM["id"]},
        "api_app_id": APP_ID,
        "token": "deprecated-verification-token",
        "trigger_id": _trigger_id(),
        **fields,
    }
    return urlencode({"payload": json.dumps(payload)})


def _button(action_id: str, block_id: str, value: str) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": action_id,
        "block_id": block_id,
        "value": value,
        "action_ts": f"{time.time():.6f}",
    }


def slash_command(command: str, text: str, user: str, channel: str, response_url: str) -> str:
    return urlencode(
        {
            "token": "deprecated-verification-token",
            "team_id": TEAM["id"],
            "team_domain": TEAM["domain"],
            "channel_id": channel,
            "channel_name": channel.lstrip("#"),
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "response_url": response_url,
            "trigger_id": _trigger_id(),
        }
    )


def block_actions(
    user: str,
    channel: str,
    message_ts: str,
    action_id: str,
    value: str,
    block_id: str,
    response_url: str,
    action: dict[str, Any] | None = None,
    message_blocks: list[dict[str, Any]] | None = None,
) -> str:
    """A button click, or with `action` any other element's action (e.g. checkboxes)."""
    return _interaction(
        "block_actions",
        user,
        container={
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        channel={"id": channel, "name": channel.lstrip("#")},
        message={"type": "message", "ts": message_ts, "text": "", "blocks": message_blocks or []},
        response_url=response_url,
        actions=[action or _button(action_id, block_id, value)],
    )


def event_callback(event: dict[str, Any], event_id: str | None = None) -> str:
    return json.dumps(
        {
            "token": "deprecated-verification-token",
            "team_id": TEAM["id"],
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM["id"], "user_id": "UWARROOMBOT", "is_bot": True}],
        }
    )


def _element_state(element: dict[str, Any], value: str | None) -> dict[str, Any]:
    kind = element.get("type", "plain_text_input")
    if kind == "static_select":
        chosen = next((o for o in element.get("options", []) if o["value"] == value), None)
        return {"type": kind, "selected_option": chosen}
    return {"type": kind, "value": value}


def view_submission(
    user: str, view: dict[str, Any], values: Mapping[str, Mapping[str, str | None]]
) -> str:
    """A modal submitted: values = {block_id: {action_id: text or option value}}; each
    input's state is shaped as Slack shapes it for that element (text, static select)."""
    elements = {
        b["block_id"]: b["element"] for b in view.get("blocks", []) if b.get("type") == "input"
    }
    state = {
        block: {
            action: _element_state(elements.get(block, {}), value)
            for action, value in inputs.items()
        }
        for block, inputs in values.items()
    }
    return _interaction(
        "view_submission",
        user,
        view={**view, "id": view.get("id", "V0LOCAL"), "state": {"values": state}},
    )


def message_shortcut(
    callback_id: str, user: str, channel: str, message: dict[str, Any], response_url: str
) -> str:
    """A message shortcut ("message_action") on `message` in `channel`."""
    return _interaction(
        "message_action",
        user,
        callback_id=callback_id,
        channel={"id": channel, "name": channel.lstrip("#")},
        message=message,
        message_ts=message.get("ts"),
        response_url=response_url,
        action_ts=f"{time.time():.6f}",
    )


def home_action(user: str, action_id: str, value: str, view: dict[str, Any] | None = None) -> str:
    """A button clicked on the App Home tab: no channel, no message, no response_url."""
    return _interaction(
        "block_actions",
        user,
        container={"type": "view", "view_id": "VHOME"},
        view={**(view or {"type": "home", "blocks": []}), "id": "VHOME"},
        actions=[_button(action_id, "home", value)],
    )

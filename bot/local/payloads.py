"""Slack's own request formats, signed: used by the local workspace, the tests and bench/."""

from __future__ import annotations

import json
import time
import uuid
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
    return {
        "content-type": content_type,
        "x-slack-request-timestamp": ts,
        "x-slack-signature": signature,
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
            "trigger_id": f"{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:12]}",
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
    action: dict | None = None,
    message_blocks: list[dict] | None = None,
) -> str:
    """A button click, or with `action` any other element's action (e.g. checkboxes)."""
    payload = {
        "type": "block_actions",
        "team": TEAM,
        "user": {"id": user, "username": user.lower(), "team_id": TEAM["id"]},
        "api_app_id": APP_ID,
        "token": "deprecated-verification-token",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": f"{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:12]}",
        "channel": {"id": channel, "name": channel.lstrip("#")},
        "message": {
            "type": "message",
            "ts": message_ts,
            "text": "",
            "blocks": message_blocks or [],
        },
        "response_url": response_url,
        "actions": [
            action
            or {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "value": value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def event_callback(event: dict, event_id: str | None = None) -> str:
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


def _element_state(element: dict, value: str | None) -> dict:
    kind = element.get("type", "plain_text_input")
    if kind == "static_select":
        chosen = next((o for o in element.get("options", []) if o["value"] == value), None)
        return {"type": kind, "selected_option": chosen}
    return {"type": kind, "value": value}


def view_submission(user: str, view: dict, values: dict[str, dict[str, str | None]]) -> str:
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
    payload = {
        "type": "view_submission",
        "team": TEAM,
        "user": {"id": user, "username": user.lower(), "team_id": TEAM["id"]},
        "api_app_id": APP_ID,
        "token": "deprecated-verification-token",
        "trigger_id": f"{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:12]}",
        "view": {**view, "id": view.get("id", "V0LOCAL"), "state": {"values": state}},
    }
    return urlencode({"payload": json.dumps(payload)})


def message_shortcut(
    callback_id: str, user: str, channel: str, message: dict, response_url: str
) -> str:
    """A message shortcut ("message_action") on `message` in `channel`."""
    payload = {
        "type": "message_action",
        "callback_id": callback_id,
        "team": TEAM,
        "user": {"id": user, "username": user.lower(), "team_id": TEAM["id"]},
        "channel": {"id": channel, "name": channel.lstrip("#")},
        "message": message,
        "message_ts": message.get("ts"),
        "response_url": response_url,
        "trigger_id": f"{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:12]}",
        "action_ts": f"{time.time():.6f}",
        "token": "deprecated-verification-token",
    }
    return urlencode({"payload": json.dumps(payload)})


def home_action(user: str, action_id: str, value: str, view: dict | None = None) -> str:
    """A button clicked on the App Home tab: no channel, no message, no response_url."""
    payload = {
        "type": "block_actions",
        "team": TEAM,
        "user": {"id": user, "username": user.lower(), "team_id": TEAM["id"]},
        "api_app_id": APP_ID,
        "token": "deprecated-verification-token",
        "container": {"type": "view", "view_id": "VHOME"},
        "trigger_id": f"{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:12]}",
        "view": {**(view or {"type": "home", "blocks": []}), "id": "VHOME"},
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "home",
                "value": value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})

"""manifest.yml is a valid Slack manifest and matches what the app registers and calls."""

from __future__ import annotations

import ast
import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import jsonschema
import pytest
import yaml
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

import handlers
from bot.app import build_app
from bot.local import payloads
from bot.local.fake_slack import FakeSlack
from bot.services import Services
from tests.conftest import SECRET, SRE

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT.parent / "shared" / "slack" / "schemas" / "manifest.schema.1.0.0.json"

# Each Web API method the bot calls, and the bot scope it needs (None: no scope needed).
SCOPE_OF_METHOD: dict[str, str | None] = {
    "chat_postMessage": "chat:write",
    "chat_postEphemeral": "chat:write",
    "chat_update": "chat:write",
    "chat_getPermalink": None,
    "conversations_history": "channels:history",
    "conversations_replies": "channels:history",
    "usergroups_users_list": "usergroups:read",
    "files_upload_v2": "files:write",
    "views_open": None,
    "views_publish": None,
}
API_FAMILIES = (
    "chat_",
    "views_",
    "files_",
    "usergroups_",
    "conversations_",
    "users_",
    "reactions_",
)


@pytest.fixture(scope="module")
def manifest() -> dict:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_manifest_validates_against_slacks_schema(manifest: dict) -> None:
    if not SCHEMA.exists():
        pytest.skip(f"Slack's manifest schema is not beside the repo ({SCHEMA})")
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(manifest), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


async def _status_of(app: AsyncApp, body: str, content_type: str) -> int:
    headers: dict[str, str | Sequence[str]] = {
        **payloads.signed_headers(SECRET, body, content_type=content_type)
    }
    request = AsyncBoltRequest(body=body, headers=headers)
    status = (await app.async_dispatch(request)).status
    # the listeners Bolt runs after the ack
    await asyncio.gather(*(asyncio.all_tasks() - {asyncio.current_task()}))
    return status


def _fallback_saw(caplog: pytest.LogCaptureFixture, run: Callable[..., int]) -> bool:
    """Whether what `run` sent reached no surface (the fallback logged it), status 200."""
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="handlers.fallback"):
        assert run() == 200
    return any(r.getMessage() == "slack.unhandled" for r in caplog.records)


def test_slash_commands_match_the_apps_commands(
    manifest: dict, services: Services, caplog: pytest.LogCaptureFixture, fake_slack: FakeSlack
) -> None:
    app = build_app(services)
    in_manifest = {c["command"] for c in manifest["features"]["slash_commands"]}
    assert in_manifest == handlers.slash_commands()

    def status(command: str) -> int:
        url = fake_slack.response_url("C1", SRE)  # a reply that lands at once, no retries
        body = payloads.slash_command(command, "help", SRE, "C1", url)
        return asyncio.run(_status_of(app, body, "application/x-www-form-urlencoded"))

    # each declared command really reaches its surface; an undeclared one only the fallback
    assert not any(_fallback_saw(caplog, lambda c=c: status(c)) for c in in_manifest)
    assert _fallback_saw(caplog, lambda: status("/not-a-warroom-command"))


def test_events_match_the_apps_event_listeners(
    manifest: dict, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    app = build_app(services)
    in_manifest = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert in_manifest == handlers.bot_events()
    for event_type in in_manifest:
        body = payloads.event_callback(
            {
                "type": event_type,
                "user": SRE,
                "text": "hi",
                "channel": "C1",
                "ts": "1.2",
                "event_ts": "1.2",
            }
        )
        assert not _fallback_saw(
            caplog, lambda b=body: asyncio.run(_status_of(app, b, "application/json"))
        )
    other = payloads.event_callback({"type": "reaction_added", "user": SRE})
    assert _fallback_saw(caplog, lambda: asyncio.run(_status_of(app, other, "application/json")))


def test_scopes_are_exactly_those_the_code_needs(manifest: dict) -> None:
    called: set[str] = set()
    for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("handlers/**/*.py")]:
        if "local" in path.parts:
            continue  # the local workspace's stand-in serves these methods, not calls them
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr.startswith(API_FAMILIES):
                called.add(node.attr)
    unknown = called - set(SCOPE_OF_METHOD)
    assert not unknown, f"say which scope these Web API methods need: {unknown}"
    needed = {SCOPE_OF_METHOD[m] for m in called} - {None}
    needed |= (
        {"commands"}
        if manifest["features"]["slash_commands"] or manifest["features"].get("shortcuts")
        else set()
    )
    needed |= (
        {"app_mentions:read"}
        if "app_mention" in manifest["settings"]["event_subscriptions"]["bot_events"]
        else set()
    )
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == needed


def test_shortcuts_and_app_home_match_the_app(
    manifest: dict, services: Services, fake_slack: FakeSlack
) -> None:
    app = build_app(services)
    shortcuts = manifest["features"]["shortcuts"]
    assert {s["callback_id"] for s in shortcuts} == handlers.shortcuts()
    assert all(s["type"] == "message" for s in shortcuts)
    for callback_id in handlers.shortcuts():
        body = payloads.message_shortcut(
            callback_id,
            SRE,
            "C1",
            {"type": "message", "user": SRE, "ts": "1.2", "text": "x"},
            fake_slack.response_url("C1", SRE),
        )
        assert asyncio.run(_status_of(app, body, "application/x-www-form-urlencoded")) == 200
    # the App Home event is subscribed, so the Home tab must be on
    assert "app_home_opened" in handlers.bot_events()
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True

"""`warroom run` over Socket Mode, against a loopback WebSocket that speaks Slack's protocol:
hello, an envelope carrying a slash command, and the envelope's acknowledgement."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import cast
from urllib.parse import parse_qs

import httpx
import pytest
from aiohttp import WSMsgType, web

from bot.local import payloads
from bot.local.fake_slack import FakeSlack
from tests.conftest import SRE, TOKEN
from tests.prom_support import free_port

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only("the Socket Mode transport is the point")]


class SocketModeServer:
    def __init__(self, *envelopes: dict) -> None:
        self.envelopes = envelopes
        self.acks: list[dict] = []
        self.acked = threading.Event()
        self.loop = asyncio.new_event_loop()
        self.port = 0

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json(
            {"type": "hello", "num_connections": 1, "debug_info": {"host": "loopback"}}
        )
        for envelope in self.envelopes:
            await ws.send_json(envelope)
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                self.acks.append(json.loads(message.data))
                if len(self.acks) >= len(self.envelopes):
                    self.acked.set()
        return ws

    def start(self) -> None:
        started = threading.Event()

        async def serve() -> None:
            app = web.Application()
            app.router.add_get("/link", self._link)
            runner = web.AppRunner(app)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.port = cast(asyncio.Server, site._server).sockets[0].getsockname()[1]  # started
            started.set()

        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(serve(), self.loop)
        started.wait(10)


def test_slash_command_over_socket_mode_is_acked_and_answered(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    response_url = fake_slack.response_url("#phase1-war-room", SRE)
    envelope = {
        "envelope_id": "57d6a792-4d35-4d0b-b6aa-3361493e1caf",
        "type": "slash_commands",
        "accepts_response_payload": True,
        "payload": {
            "token": "deprecated",
            "team_id": "TLOCAL",
            "team_domain": "local",
            "channel_id": "C0WARROOM1",
            "channel_name": "phase1-war-room",
            "user_id": SRE,
            "user_name": "sre",
            "command": "/rollout",
            "text": "status",
            "api_app_id": "AWARROOM",
            "response_url": response_url,
            "trigger_id": "123.456.abc",
        },
    }
    server = SocketModeServer(envelope)
    with running_bot(tmp_path, fake_slack, server):
        assert server.acked.wait(30), "no envelope acknowledgement over the WebSocket"
        assert server.acks[0]["envelope_id"] == envelope["envelope_id"]
        reply = fake_slack.wait_for(lambda f: f.ephemerals(SRE), timeout=15)[0]
        assert "ADVANCED_CHECKOUT 10 %" in reply.text
        opened = fake_slack.calls_to("apps.connections.open")[0]
        assert opened.authorization == "Bearer xapp-1-A0-123-abc"


def test_what_no_surface_handles_is_still_acknowledged_over_socket_mode(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    event = {
        "envelope_id": "e-unknown-event",
        "type": "events_api",
        "accepts_response_payload": False,
        "payload": payloads_event({"type": "reaction_added", "user": SRE, "reaction": "eyes"}),
    }
    response_url = fake_slack.response_url("C0WARROOM1", SRE)
    click = {
        "envelope_id": "e-unknown-button",
        "type": "interactive",
        "accepts_response_payload": False,
        "payload": json.loads(
            parse_qs(
                payloads.block_actions(
                    SRE, "C0WARROOM1", "1.2", "retired.button", "7", "old.block", response_url
                )
            )["payload"][0]
        ),
    }
    server = SocketModeServer(event, click)
    with running_bot(tmp_path, fake_slack, server):
        assert server.acked.wait(30), f"acknowledged only {server.acks}"
        assert {a["envelope_id"] for a in server.acks} == {"e-unknown-event", "e-unknown-button"}
        note = fake_slack.wait_for(lambda f: f.ephemerals(SRE), timeout=15)[0]
        assert "not something I handle" in note.text


def payloads_event(event: dict) -> dict:
    return json.loads(payloads.event_callback(event))


def test_socket_mode_keeps_the_http_endpoints(tmp_path: Path, fake_slack: FakeSlack) -> None:
    event = {
        "envelope_id": "e-mention",
        "type": "events_api",
        "accepts_response_payload": False,
        "payload": payloads_event(
            {"type": "app_mention", "user": SRE, "text": "hi", "channel": "C1", "ts": "1.2"}
        ),
    }
    server = SocketModeServer(event)
    port = free_port()
    with running_bot(tmp_path, fake_slack, server, "--http-port", str(port)):
        assert server.acked.wait(30), "no envelope acknowledgement over the WebSocket"
        base = f"http://127.0.0.1:{port}"
        health = wait_for_http(f"{base}/healthz")
        assert health.json()["status"] == "ok"
        # while the WebSocket is connected, the HTTP side answers
        assert httpx.get(f"{base}/api/freeze").json()["deployments"] == "allowed"
        assert "warroom_slack_requests" in httpx.get(f"{base}/metrics").text
        hook = httpx.post(f"{base}/hooks/alertmanager", json={"version": "4", "alerts": []})
        assert hook.status_code == 401  # there, and asking for its token
        # Slack comes over the WebSocket only: unsigned HTTP never reaches the app
        assert httpx.post(f"{base}/slack/events", content=b"{}").status_code == 404
        fake_slack.wait_for(lambda f: f.calls_to("chat.postMessage"), timeout=15)


def wait_for_http(url: str) -> httpx.Response:
    """The server answers once it is up; a refused connection means not yet."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return httpx.get(url)
        except httpx.ConnectError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)  # polling the effect: the port accepting connections


@contextmanager
def running_bot(
    tmp_path: Path, fake_slack: FakeSlack, server: SocketModeServer, *args: str
) -> Iterator[None]:
    server.start()
    fake_slack.socket_mode_url = f"ws://127.0.0.1:{server.port}/link"
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_APP_TOKEN": "xapp-1-A0-123-abc",
        "SLACK_API_URL": fake_slack.api_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'socket.db'}",
    }
    env.pop("SLACK_SIGNING_SECRET", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", *(args or ("--no-http",))],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield
    finally:
        proc.terminate()
        output = proc.communicate(timeout=10)[0]
        server.loop.call_soon_threadsafe(server.loop.stop)
    assert "xapp-1-A0-123-abc" not in output and TOKEN not in output

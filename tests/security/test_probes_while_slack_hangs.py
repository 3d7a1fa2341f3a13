"""The deploy gate and the health check answer while Slack hangs and every command is
stuck waiting on it: they run on a pool of their own."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from bot.local import payloads
from bot.settings import Settings
from tests.conftest import SECRET, SRE, LiveBot

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only("the HTTP probes are the point")]


@pytest.fixture
def hanging_slack() -> Iterator[str]:
    """A Web API that accepts every connection and never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/api/"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


@pytest.fixture
def settings(settings: Settings, hanging_slack: str) -> Settings:
    return settings.model_copy(update={"slack_api_url": hanging_slack})


def test_freeze_gate_and_healthz_answer_while_slack_hangs(served_bot: LiveBot) -> None:
    channel = served_bot.services.playbook.channels.war_room
    for n in range(16):  # each command's Slack calls hang on a pool thread
        body = payloads.slash_command(
            "/rollout", f"freeze hold {n}", SRE, channel, served_bot.fake.response_url(channel, SRE)
        )
        headers = payloads.signed_headers(SECRET, body)
        assert served_bot.http.post(f"{served_bot.url}/slack/events", content=body, headers=headers)
    served_bot.services.rollout.freeze_state()  # the commands have been taken
    quick = httpx.Client(timeout=1.0)  # a generous bound: milliseconds are expected
    for _ in range(3):
        assert quick.get(f"{served_bot.url}/api/freeze").status_code in (200, 423)
        assert quick.get(f"{served_bot.url}/healthz").json()["status"] == "ok"

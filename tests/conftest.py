"""Shared fixtures: a fake clock, a real SQLite file, the loopback Slack Web API server,
and the real app served over a real socket by uvicorn."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from bot.app import build_asgi
from bot.clock import FakeClock
from bot.local import payloads
from bot.local.fake_slack import FakeSlack
from bot.playbook import Playbook, load_playbook
from bot.services import Services, build_services
from bot.settings import Settings

TOKEN = "xoxb-test-token-1234567890-abcdefghij"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"

SRE, SRE2 = "U0SRE00001", "U0SRE00002"
PRODUCT, SUPPORT, GTM, ONCALL = "U0PROD0001", "U0SUPP0001", "U0GTM00001", "U0ONCL0001"
OUTSIDER = "U0NOBODY01"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))


@pytest.fixture
def playbook() -> Playbook:
    return load_playbook()


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    yield fake
    fake.stop()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'warroom.db'}"


PG_ADMIN_URL = os.environ.get("WARROOM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test; skipped, with the reason, when none runs."""
    import psycopg

    name = f"warroom_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {str(exc).splitlines()[0]}")
    admin.execute(f'CREATE DATABASE "{name}"')
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture
def settings(db_url: str, fake_slack: FakeSlack) -> Settings:
    return Settings(
        slack_bot_token=SecretStr(TOKEN),
        slack_signing_secret=SecretStr(SECRET),
        slack_api_url=fake_slack.api_url,
        database_url=db_url,
    )


@pytest.fixture
def services(settings: Settings, playbook: Playbook, clock: FakeClock) -> Services:
    return build_services(settings, playbook, clock)


@dataclass
class LiveBot:
    """The real app on a real socket, and a way to send it signed Slack requests."""

    url: str
    services: Services
    fake: FakeSlack
    http: httpx.Client

    def post(
        self,
        body: str,
        content_type: str = "application/x-www-form-urlencoded",
        secret: str = SECRET,
        timestamp: int | None = None,
        extra: dict[str, str] | None = None,
    ) -> httpx.Response:
        headers = payloads.signed_headers(secret, body, timestamp, content_type)
        headers.update(extra or {})
        return self.http.post(f"{self.url}/slack/events", content=body, headers=headers)

    def command(self, text: str, user: str = SRE, command: str = "/rollout") -> httpx.Response:
        channel = self.services.playbook.channels.war_room
        response_url = self.fake.response_url(channel, user)
        return self.post(payloads.slash_command(command, text, user, channel, response_url))

    def ephemeral_after(self, count: int, user: str = SRE, timeout: float = 5):
        """Wait for the user's (count+1)-th ephemeral reply and return it."""
        return self.fake.wait_for(
            lambda f: len(f.ephemerals(user)) > count and f.ephemerals(user)[count], timeout
        )


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def live_bot(services: Services, fake_slack: FakeSlack) -> Iterator[LiveBot]:
    web = build_asgi(services)
    sock = free_socket()
    server = uvicorn.Server(
        uvicorn.Config(web, log_level="warning", lifespan="off", access_log=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    host, port = sock.getsockname()
    with httpx.Client(timeout=10) as http:
        yield LiveBot(f"http://{host}:{port}", services, fake_slack, http)
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()

"""Unauthenticated floods: bodies over the cap are refused before they are read (declared or
chunked), a rejected body is never logged and the refusal line is rate-limited, and a client
dripping its body is cut off."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest

from bot.edge import MAX_BODY_BYTES
from bot.settings import Settings
from tests.conftest import LiveBot

pytestmark = [
    pytest.mark.slow,
    pytest.mark.sqlite_only("connection limits of the socket are the point"),
]

MIB = 1024 * 1024


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"warroom_body_timeout_seconds": 1.0})


def test_big_unsigned_bodies_get_413_and_the_log_stays_small(
    served_bot: LiveBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = b"payload=" + b"A" * (MIB + 7)
    for route in ("/slack/events", "/api/feedback", "/hooks/alertmanager", "/api/tickets"):
        for _ in range(5):
            answer = served_bot.http.post(served_bot.url + route, content=body)
            assert answer.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: Transfer-Encoding chunked
        for _ in range(40):
            yield b"B" * 65536

    chunked = served_bot.http.post(served_bot.url + "/slack/events", content=chunks())
    assert chunked.status_code == 413
    server = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    logged = "\n".join(f"{r.getMessage()} {getattr(r, 'fields', '')}" for r in server)
    assert "AAAA" not in logged and "BBBB" not in logged
    assert len(logged) < 4096, logged[:500]
    refusals = [r for r in server if "body too large" in str(getattr(r, "fields", ""))]
    assert 1 <= len(refusals) <= 2  # rate-limited: one line per reason in a while


def test_a_body_under_the_cap_still_reaches_the_route(served_bot: LiveBot) -> None:
    body = b"x" * (MAX_BODY_BYTES - 10)
    answer = served_bot.http.post(served_bot.url + "/slack/events", content=body)
    assert answer.status_code == 401  # read, then refused for its missing signature


def test_a_slow_drip_client_is_cut_off(served_bot: LiveBot) -> None:
    url = urlparse(served_bot.url)
    with socket.create_connection((url.hostname, url.port), timeout=20) as sock:
        sock.sendall(
            b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n\r\n"
        )
        sock.settimeout(0.2)
        answer = b""
        for _ in range(100):  # 1 byte every 0.2 s, until the server answers or 20 s pass
            try:
                sock.sendall(b"a")
                answer += sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                break
            if answer:
                break
    assert answer.startswith(b"HTTP/1.1 408"), answer[:100]

"""Hostile input at the HTTP edge: every route answers a short, listed error, never a
traceback, and never echoes Python exception text."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from bot.settings import Settings
from tests.conftest import HttpResponse, LiveBot

TOKEN = "edge-token-0123456789"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "warroom_feedback_token": SecretStr(TOKEN),
            "warroom_tickets_token": SecretStr(TOKEN),
            "warroom_alertmanager_token": SecretStr(TOKEN),
        }
    )


AUTH = {"authorization": f"Bearer {TOKEN}"}
ROUTES = ["/api/feedback", "/api/tickets", "/hooks/alertmanager"]


def _no_traceback(response: HttpResponse) -> None:
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text
    assert "Error(" not in response.text


@pytest.mark.parametrize("route", ROUTES)
def test_a_non_ascii_authorization_header_is_401(live_bot: LiveBot, route: str) -> None:
    response = live_bot.http.post(
        live_bot.url + route,
        content=b"{}",
        headers=[(b"authorization", "Bearer é€".encode()), (b"content-type", b"application/json")],
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        ("payload=x", {"x-slack-request-timestamp": "1", "x-slack-signature": "v0=00"}),
        ("{", {"content-type": "application/json"}),
        ("command=/rollout", {"x-slack-request-timestamp": "abc", "x-slack-signature": "v0=1"}),
        ("payload=%7B", {}),
    ],
)
def test_unsigned_garbage_on_slack_events_is_refused(
    live_bot: LiveBot, body: str, headers: dict[str, str]
) -> None:
    response = live_bot.http.post(live_bot.url + "/slack/events", content=body, headers=headers)
    assert response.status_code in (400, 401)
    _no_traceback(response)


@pytest.mark.parametrize(
    "payload",
    [
        {"version": "4", "alerts": [1]},
        {"version": "4", "alerts": [{"status": "firing", "labels": "x"}]},
        {"version": "4", "alerts": [{"status": "firing", "labels": {"trigger": "error_rate"}}]},
        {
            "version": "4",
            "alerts": [
                {"status": "firing", "labels": {"trigger": "error_rate"}, "startsAt": "garbage"}
            ],
        },
        {"alerts": "nope"},
        [],
    ],
)
def test_alertmanager_payload_errors_name_the_field(live_bot: LiveBot, payload: object) -> None:
    response = live_bot.http.post(live_bot.url + "/hooks/alertmanager", json=payload, headers=AUTH)
    assert response.status_code in (400, 422), response.text
    _no_traceback(response)
    assert "errors" in response.json()


@pytest.mark.parametrize(
    ("field", "value"),
    [("flag", "NOT_A_FLAG"), ("rating", True), ("text", "hello\x00world"), ("rating", 9)],
)
def test_feedback_api_is_as_strict_as_the_form(
    live_bot: LiveBot, field: str, value: object
) -> None:
    item = {"source": "widget", "rating": 4, "text": "checkout was slow", field: value}
    response = live_bot.http.post(live_bot.url + "/api/feedback", json=item, headers=AUTH)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_an_answered_event_for_an_unknown_ticket_is_refused(live_bot: LiveBot) -> None:
    tag = live_bot.services.playbook.feedback.ticket_tag
    event = {"event": "answered", "ticket_id": "T-404", "tags": [tag]}
    response = live_bot.http.post(live_bot.url + "/api/tickets", json=event, headers=AUTH)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "ticket_id"
    created = {**event, "event": "created"}
    assert live_bot.http.post(live_bot.url + "/api/tickets", json=created, headers=AUTH).json()[
        "kept"
    ]
    again = live_bot.http.post(live_bot.url + "/api/tickets", json=event, headers=AUTH)
    assert again.json()["answered"] is True


def test_a_request_failing_verification_is_logged_without_its_secrets(
    live_bot: LiveBot, caplog: pytest.LogCaptureFixture
) -> None:
    import logging
    import time

    from bot.local import payloads

    caplog.set_level(logging.DEBUG)
    channel = live_bot.services.playbook.channels.war_room
    response_url = live_bot.fake.response_url(channel, "U0SRE00001")
    body = payloads.slash_command("/rollout", "status", "U0SRE00001", channel, response_url)
    skewed = int(time.time()) - 10 * 60  # a genuine request from a host whose clock is off
    assert live_bot.post(body, timestamp=skewed).status_code == 401
    server = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    logged = "\n".join(f"{r.getMessage()} {getattr(r, 'fields', '')}" for r in server)
    assert "timestamp outside the signature window" in logged
    for secret in (response_url, "trigger_id", "deprecated-verification-token"):
        assert secret not in logged

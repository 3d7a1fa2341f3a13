"""POST /api/feedback over a real socket: validation with field-level errors, the token,
idempotency, classification and routing."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from pydantic import SecretStr

from bot.clock import FakeClock
from bot.settings import Settings
from tests.conftest import HttpResponse, LiveBot

TOKEN = "feedback-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
GOOD = {
    "source": "widget",
    "rating": 4,
    "text": "The new checkout is quick",
    "user_id": "c-1",
    "flag": "ADVANCED_CHECKOUT",
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"warroom_feedback_token": SecretStr(TOKEN)})


def post(
    bot: LiveBot, body: bytes | dict[str, object], headers: dict[str, str] = AUTH
) -> HttpResponse:
    if isinstance(body, bytes):
        return bot.http.post(
            f"{bot.url}/api/feedback",
            content=body,
            headers={**headers, "content-type": "application/json"},
        )
    return bot.http.post(f"{bot.url}/api/feedback", json=body, headers=headers)


@pytest.mark.parametrize(
    ("body", "status", "field", "message"),
    [
        ({k: v for k, v in GOOD.items() if k != "rating"}, 422, "rating", "Field required"),
        ({**GOOD, "rating": 9}, 422, "rating", "less than or equal to 5"),
        ({**GOOD, "text": "x" * 2001}, 422, "text", "at most 2000 characters"),
        ({**GOOD, "source": "fax"}, 422, "source", "Input should be 'widget' or 'survey'"),
        ({**GOOD, "flag": "NO_SUCH_FLAG"}, 422, "flag", "not a launch flag"),
        ({**GOOD, "category": "rant"}, 422, "category", "Input should be 'bug'"),
        (b"{not json", 400, "(body)", "not valid JSON"),
    ],
)
def test_bad_payloads_get_field_errors_and_nothing_is_stored(
    live_bot: LiveBot,
    body: bytes | dict[str, object],
    status: int,
    field: str,
    message: str,
) -> None:
    response = post(live_bot, body)
    assert response.status_code == status
    errors = response.json()["errors"]
    assert any(e["field"] == field and message in e["message"] for e in errors), errors
    assert live_bot.services.feedback.count() == 0


def test_the_token_is_required(live_bot: LiveBot) -> None:
    assert post(live_bot, GOOD, headers={}).status_code == 401
    assert post(live_bot, GOOD, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert live_bot.services.feedback.count() == 0


def test_the_same_idempotency_key_twice_is_stored_once(live_bot: LiveBot) -> None:
    first = post(live_bot, GOOD, headers={**AUTH, "Idempotency-Key": "w-123"})
    again = post(live_bot, GOOD, headers={**AUTH, "Idempotency-Key": "w-123"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == {**first.json(), "duplicate": True}
    assert live_bot.services.feedback.count() == 1


@pytest.mark.parametrize(
    ("text", "category", "route", "channel", "who"),
    [
        ("Checkout crashed when I paid", None, "critical", "#phase1-war-room", "<@U0SRE00001>"),
        ("I was charged twice!", None, "critical", "#phase1-war-room", "<@U0SRE00001>"),
        ("How do I turn smart prices off?", None, "question", "#phase1-support", "<@U0SUPP0001>"),
        ("Please add Apple Pay", None, "product", "#phase1-product", "<@U0PROD0001>"),
        ("Love it", "praise", "product", "#phase1-product", "<@U0PROD0001>"),
        ("Button slightly misaligned", "bug", "critical", "#phase1-war-room", "<@U0SRE00001>"),
        ("Is there a dark mode?", "product_request", "product", "#phase1-product", "<@U0PROD0001>"),
    ],
)
def test_routing(
    live_bot: LiveBot, text: str, category: str | None, route: str, channel: str, who: str
) -> None:
    response = post(live_bot, {**GOOD, "text": text, "category": category})
    assert response.status_code == 201 and response.json()["route"] == route
    message = live_bot.fake.wait_for(lambda f: f.channel_messages(channel))[0]
    assert text[:20] in message.text and who in message.text


def test_feedback_is_kept_while_slack_is_down_and_routed_when_it_is_back(
    live_bot: LiveBot, clock: FakeClock
) -> None:
    live_bot.fake.fail_next("chat.postMessage", 500, times=1000)
    response = post(live_bot, {**GOOD, "text": "Checkout crashed"})
    assert response.status_code == 201
    feedback = live_bot.services.feedback
    # routed into the outbox, which keeps the post while Slack refuses it
    live_bot.fake.wait_for(lambda f: f.calls_to("chat.postMessage"))
    deadline = time.monotonic() + 10
    while feedback.pending() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert feedback.pending() == 0 and feedback.count() == 1
    assert live_bot.fake.channel_messages("#phase1-war-room") == []
    live_bot.fake.faults.clear()
    deadline = time.monotonic() + 20
    while not live_bot.fake.channel_messages("#phase1-war-room"):
        assert time.monotonic() < deadline, "the feedback never reached the war room"
        clock.advance(timedelta(minutes=5))
        live_bot.services.schedule.tick()  # the watchdog's ticks wake the outbox
        time.sleep(0.05)
    [message] = live_bot.fake.channel_messages("#phase1-war-room")
    assert "Checkout crashed" in message.text


def test_a_burst_goes_out_as_one_digest_per_channel_and_critical_items_one_by_one(
    live_bot: LiveBot,
) -> None:
    from bot.feedback import FeedbackIn

    feedback = live_bot.services.feedback
    for i in range(8):
        feedback.submit(FeedbackIn(source="survey", rating=4, text=f"Idea {i}: add a wishlist"))
    feedback.submit(FeedbackIn(source="widget", rating=1, text="Payment failed twice"))
    assert feedback.route_pending() == 9 and feedback.pending() == 0
    [digest] = live_bot.fake.channel_messages("#phase1-product")
    assert digest.text.startswith(":speech_balloon: 8 beta feedback items for <@U0PROD0001>")
    assert "Idea 4" in digest.text and "Idea 5" not in digest.text  # the first five shown
    assert digest.text.endswith("…and 3 more")
    [critical] = live_bot.fake.channel_messages("#phase1-war-room")
    assert "Payment failed twice" in critical.text
    assert feedback.route_pending() == 0  # nothing twice

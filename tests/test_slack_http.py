"""The real Bolt app over a real socket, fed signed requests in Slack's own formats."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from bot.clock import FakeClock
from bot.ids.rollout import RolloutAction, RolloutBlock
from bot.local import payloads
from tests.conftest import PRODUCT, SECRET, SRE, TOKEN, LiveBot


def test_signed_status_is_acked_fast_and_answered_ephemerally(live_bot: LiveBot) -> None:
    started = time.perf_counter()
    response = live_bot.command("status")
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert elapsed < 3.0, "Slack's deadline is 3 s"
    reply = live_bot.ephemeral_after(0)
    assert "ADVANCED_CHECKOUT 10 % (internal_beta)" in reply.text
    assert reply.blocks[0]["type"] == "header"


def test_bad_or_stale_signature_is_refused_and_nothing_runs(live_bot: LiveBot) -> None:
    channel = live_bot.services.playbook.channels.war_room
    body = payloads.slash_command(
        "/rollout", "freeze nope", SRE, channel, live_bot.fake.response_url(channel, SRE)
    )
    assert live_bot.post(body, secret="not-the-secret").status_code == 401
    stale = int(time.time()) - 10 * 60
    assert live_bot.post(body, timestamp=stale).status_code == 401
    unsigned = live_bot.http.post(
        f"{live_bot.url}/slack/events",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert unsigned.status_code == 401
    # a signed command after them, answered: had a refused one run, it would be seen by then
    assert live_bot.command("status").status_code == 200
    live_bot.ephemeral_after(0)
    [answer] = live_bot.fake.ephemerals(SRE)
    assert "SMART_PRICING" in answer.text
    assert live_bot.services.rollout.freeze_state().frozen is False
    assert [m.ephemeral_to for m in live_bot.fake.messages] == [SRE]


def test_set_is_recorded_announced_and_confirmed(live_bot: LiveBot) -> None:
    assert (
        live_bot.command("set SMART_PRICING 25 internal_beta,external_beta -- green").status_code
        == 200
    )
    receipt = live_bot.ephemeral_after(0)
    assert "decision #3 recorded and announced" in receipt.text
    post = live_bot.fake.wait_for(lambda f: f.channel_messages("#phase1-war-room"))[0]
    assert "SMART_PRICING" in post.text and "25 % (internal_beta, external_beta)" in post.text
    call = live_bot.fake.calls_to("chat.postMessage")[0]
    assert call.authorization == f"Bearer {TOKEN}"
    flag = live_bot.services.rollout.flags.get("SMART_PRICING")
    assert (flag.percent, flag.segments) == (25, ["internal_beta", "external_beta"])


def test_refusal_is_ephemeral_and_changes_nothing(live_bot: LiveBot) -> None:
    live_bot.command("set ADVANCED_CHECKOUT 25", user=PRODUCT)  # allowed: product may set
    live_bot.ephemeral_after(0, user=PRODUCT)
    live_bot.command("set ADVANCED_CHEKOUT 30", user=PRODUCT)
    reply = live_bot.ephemeral_after(1, user=PRODUCT)
    assert "Unknown flag `ADVANCED_CHEKOUT`" in reply.text
    assert "Did you mean `ADVANCED_CHECKOUT`" in reply.text
    assert live_bot.services.rollout.flags.get("ADVANCED_CHECKOUT").percent == 25
    assert len(live_bot.fake.channel_messages()) == 1


def test_freeze_button_unfreezes_once_and_freeze_endpoint_follows(live_bot: LiveBot) -> None:
    assert live_bot.http.get(f"{live_bot.url}/api/freeze").status_code == 200
    live_bot.command("freeze checkout errors climbing")
    post = live_bot.fake.wait_for(lambda f: f.channel_messages())[0]
    frozen = live_bot.http.get(f"{live_bot.url}/api/freeze")
    assert frozen.status_code == 423
    assert frozen.json()["reason"] == "checkout errors climbing"
    assert frozen.json()["frozen_by"] == SRE

    button = next(b for b in post.blocks if b["type"] == "actions")["elements"][0]
    assert button["action_id"] == RolloutAction.UNFREEZE

    def click(user: str) -> None:
        body = payloads.block_actions(
            user,
            post.channel,
            post.ts,
            button["action_id"],
            button["value"],
            RolloutBlock.FREEZE_ACTIONS,
            live_bot.fake.response_url(post.channel, user, post.ts),
        )
        assert live_bot.post(body).status_code == 200

    click(PRODUCT)  # product may freeze but not unfreeze
    denied = live_bot.ephemeral_after(0, user=PRODUCT)
    assert "needs the `sre` or `oncall` role" in denied.text
    assert live_bot.http.get(f"{live_bot.url}/api/freeze").status_code == 423

    click(SRE)
    live_bot.fake.wait_for(lambda f: post.updated >= 1)
    assert "Freeze lifted" in post.text
    assert not any(b["type"] == "actions" for b in post.blocks)
    assert live_bot.http.get(f"{live_bot.url}/api/freeze").status_code == 200

    click(SRE)  # a second click on the same (stale) button changes nothing
    again = live_bot.ephemeral_after(1)
    assert "already lifted" in again.text
    actions = [r.action for r in live_bot.services.rollout.history("50")]
    assert actions.count("rollout.unfreeze") == 1


def test_event_retry_is_handled_once(live_bot: LiveBot) -> None:
    event = {
        "type": "app_mention",
        "user": SRE,
        "text": "<@UWARROOMBOT> help",
        "ts": "1700000001.000200",
        "channel": "C0WARROOM1",
        "event_ts": "1700000001.000200",
    }
    body = payloads.event_callback(event, event_id="Ev0RETRY001")
    assert live_bot.post(body, content_type="application/json").status_code == 200
    live_bot.fake.wait_for(lambda f: f.calls_to("chat.postMessage"))
    retry = live_bot.post(
        body,
        content_type="application/json",
        extra={"x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout"},
    )
    assert retry.status_code == 200
    # another mention after the retry, answered: a reply to the retry would be in by then
    later = {**event, "ts": "1700000002.000300", "event_ts": "1700000002.000300"}
    body = payloads.event_callback(later, event_id="Ev0LATER0001")
    assert live_bot.post(body, content_type="application/json").status_code == 200
    live_bot.fake.wait_for(lambda f: len(f.calls_to("chat.postMessage")) >= 2)
    replies = live_bot.fake.calls_to("chat.postMessage")
    assert [r.params["thread_ts"] for r in replies] == ["1700000001.000200", "1700000002.000300"]


def test_rate_limited_and_failing_slack_calls_are_retried(
    live_bot: LiveBot, clock: FakeClock
) -> None:
    live_bot.fake.fail_next("chat.postMessage", 429, times=1, retry_after=1)
    live_bot.command("freeze deploy pipeline broken")
    post = live_bot.fake.wait_for(lambda f: f.channel_messages(), timeout=10)[0]
    assert "deploy pipeline broken" in post.text
    assert len(live_bot.fake.calls_to("chat.postMessage")) == 2

    # a 500 may hide a post Slack made: the outbox looks before each new try, then posts once
    live_bot.fake.fail_next("chat.postMessage", 500, times=2)
    live_bot.command("unfreeze")
    live_bot.fake.wait_for(lambda f: len(f.calls_to("chat.postMessage")) == 3, timeout=10)
    deadline = time.monotonic() + 20
    while len(live_bot.fake.channel_messages()) < 2:  # the outbox's next tries, as ticks do
        assert time.monotonic() < deadline, "the unfreeze was never announced"
        clock.advance(timedelta(minutes=5))
        live_bot.services.poster.send_soon()
        time.sleep(0.05)
    assert len(live_bot.fake.channel_messages()) == 2
    assert len(live_bot.fake.calls_to("chat.postMessage")) == 5
    assert len(live_bot.fake.calls_to("conversations.history")) == 2


def test_an_announcement_slack_refuses_is_reported_to_the_actor_and_posted_later(
    live_bot: LiveBot, clock: FakeClock
) -> None:
    live_bot.fake.fail_next("chat.postMessage", 500, times=10)
    live_bot.command("freeze slack is down")
    receipt = live_bot.ephemeral_after(0, timeout=15)
    assert "Slack has not taken the announcement" in receipt.text
    assert live_bot.services.rollout.freeze_state().frozen  # the change itself stands, recorded
    assert live_bot.services.rollout.history("1")[0].action == "rollout.freeze"
    live_bot.fake.faults.clear()
    clock.advance(timedelta(minutes=5))
    live_bot.services.poster.send_soon()
    [post] = live_bot.fake.wait_for(lambda f: f.channel_messages())
    assert "slack is down" in post.text


def test_healthz_and_metrics(live_bot: LiveBot) -> None:
    assert live_bot.http.get(f"{live_bot.url}/healthz").json()["status"] == "ok"
    live_bot.command("status")
    live_bot.ephemeral_after(0)
    metrics = live_bot.http.get(f"{live_bot.url}/metrics").text
    assert 'warroom_slack_requests_total{kind="command"} 1.0' in metrics
    assert "warroom_slack_ack_seconds_count" in metrics
    assert TOKEN not in metrics and SECRET not in metrics


def test_what_no_surface_handles_is_acknowledged_and_a_person_is_told(live_bot: LiveBot) -> None:
    event = payloads.event_callback({"type": "reaction_added", "user": SRE, "reaction": "eyes"})
    assert live_bot.post(event, content_type="application/json").status_code == 200
    view = payloads.view_submission(
        SRE, {"type": "modal", "callback_id": "retired.form", "blocks": []}, {}
    )
    assert live_bot.post(view).status_code == 200
    url = live_bot.fake.response_url("C0WARROOM1", SRE)
    click = payloads.block_actions(SRE, "C0WARROOM1", "1.2", "retired.button", "7", "b", url)
    assert live_bot.post(click).status_code == 200
    note = live_bot.ephemeral_after(0, SRE)
    assert note.text.startswith("That is not something I handle")


def test_acks_never_wait_while_slack_rate_limits_many_posts(live_bot: LiveBot) -> None:
    """Announcements asleep on chat.postMessage's Retry-After hold worker threads; the
    duplicate-event check before an event's ack must not queue behind them."""
    live_bot.fake.fail_next("chat.postMessage", 429, times=1000, retry_after=3)
    senders = [
        threading.Thread(
            target=live_bot.command, args=(f"set SMART_PRICING {p} internal_beta -- load",)
        )
        for p in range(5, 17)
    ]
    for t in senders:
        t.start()
    for t in senders:
        t.join()
    # Enough posts asleep on Retry-After to hold worker threads; on a loaded machine the
    # listeners start slowly, so give them one Retry-After (3 s) to get there. The posts go
    # out one at a time, each asleep 3 s: the threads are held from the first one on (waiting
    # for a fourth post to be tried took three sleeps, about 11 s, and held no more threads).
    live_bot.fake.wait_for(lambda f: len(f.calls_to("chat.postMessage")) >= 2, timeout=30)
    acks = []
    for n in range(3):
        event = {"type": "app_mention", "user": SRE, "text": "hi", "channel": "C1", "ts": f"{n}.1"}
        started = time.perf_counter()
        answer = live_bot.post(payloads.event_callback(event), content_type="application/json")
        acks.append(time.perf_counter() - started)
        assert answer.status_code == 200
    assert max(acks) < 1.0, acks
    live_bot.fake.faults.clear()

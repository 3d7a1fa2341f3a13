"""Two replicas sharing PostgreSQL, the documented way to run more than one: each is the
whole app (its own engine, Bolt app and scheduler) on the same database and the same Slack.
A signed `/rollout set` Slack delivers to both (a retry that lands on the other replica), a
rollback signed off by Product on one and Support on the other, and a scheduled post both
schedulers find due: each happens once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from pydantic import SecretStr

from bot.clock import FakeClock
from bot.ids.rollback import RollbackAction
from bot.local import payloads
from bot.local.fake_slack import FakeSlack
from bot.services import Services, build_services
from bot.settings import Settings
from tests.conftest import PRODUCT, SECRET, SRE, SUPPORT, TOKEN, LiveBot, in_process
from tests.rollback_support import click, request_message, rollback_playbook
from tests.test_schedules import local

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)]


@pytest.fixture
def replicas(db_url: str, fake_slack: FakeSlack, clock: FakeClock) -> Iterator[list[LiveBot]]:
    settings = Settings(
        slack_bot_token=SecretStr(TOKEN),
        slack_signing_secret=SecretStr(SECRET),
        slack_api_url=fake_slack.api_url,
        database_url=db_url,
        warroom_replica_id="replica-a",
    )
    book = rollback_playbook()
    built: list[Services] = [build_services(settings, book, clock)]  # migrates the database
    built.append(
        build_services(settings.model_copy(update={"warroom_replica_id": "replica-b"}), book, clock)
    )
    with (
        in_process(built[0], fake_slack, "replica-a.test") as a,
        in_process(built[1], fake_slack, "replica-b.test") as b,
    ):
        yield [a, b]
    for services in built:
        services.runbook.wait_idle()
        services.engine.dispose()


def test_a_set_delivered_to_both_replicas_is_taken_once(replicas: list[LiveBot]) -> None:
    a, b = replicas
    channel = a.services.playbook.channels.war_room
    body = payloads.slash_command(
        "/rollout",
        "set SMART_PRICING 25 internal_beta,external_beta -- dashboards green",
        SRE,
        channel,
        a.fake.response_url(channel, SRE),
    )
    headers = payloads.signed_headers(SECRET, body)  # the same delivery, byte for byte
    answers: list[int] = []
    threads = [
        threading.Thread(
            target=lambda bot=bot: answers.append(
                bot.http.post(f"{bot.url}/slack/events", content=body, headers=headers).status_code
            )
        )
        for bot in (a, b)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200, 200]
    done = a.fake.wait_for(lambda f: f.ephemerals(SRE))
    assert "Done: decision #3 recorded" in done[0].text
    a.fake.wait_for(lambda f: [m for m in f.channel_messages() if "SMART_PRICING" in m.text])
    for bot in (a, b):
        flags = {f.name: f for f in bot.services.rollout.status().flags}
        assert flags["SMART_PRICING"].percent == 25
    sets = [r for r in a.services.rollout.history("50") if r.action == "rollout.set"]
    assert len(sets) == 1
    assert len(a.fake.ephemerals(SRE)) == 1
    assert len([m for m in a.fake.channel_messages() if "set *SMART_PRICING*" in m.text]) == 1


def test_sign_offs_on_two_replicas_start_one_rollback(replicas: list[LiveBot]) -> None:
    a, b = replicas
    a.command("checkout errors at 5 %", user=SRE, command="/rollback")
    message = request_message(a)
    click(a, PRODUCT, RollbackAction.APPROVE, "1", message)
    a.fake.wait_for(lambda f: "product*: <@" in str(message.blocks))  # signed, shown
    click(b, SUPPORT, RollbackAction.APPROVE, "1", message)
    a.fake.wait_for(lambda f: a.services.rollback.view(1).request.status == "done", timeout=30)
    for bot in (a, b):
        bot.services.runbook.wait_idle()
    records = [r.action for r in b.services.rollout.history("50")]
    assert records.count("rollback.approved") == 1 and records.count("rollback.done") == 1
    assert "done" in message.text and "MTTR" in str(message.blocks)
    flags = {f.name: f.percent for f in a.services.rollout.flags.list_flags()}
    assert flags == {"ADVANCED_CHECKOUT": 10, "SMART_PRICING": 10}


def test_a_scheduled_post_both_replicas_find_due_is_posted_once(
    replicas: list[LiveBot], clock: FakeClock
) -> None:
    a, b = replicas
    t = local("2026-12-01 10:00")
    clock.set(t - timedelta(days=2))
    a.services.rollout.launch(PRODUCT, "2026-12-01 10:00")
    clock.set(t - timedelta(hours=1))  # T−1h: "Open the war room"
    made: list[list[str]] = []
    threads = [
        threading.Thread(
            target=lambda bot=bot: made.append(
                [run.job_key for run in bot.services.schedule.tick()]
            )
        )
        for bot in (a, b)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    keys = sorted(made[0] + made[1])
    assert keys.count("milestone:-1h") == 1, made
    posted = a.fake.wait_for(
        lambda f: [m for m in f.channel_messages() if "Open the war room" in m.text]
    )
    assert len(posted) == 1

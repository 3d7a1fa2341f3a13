"""Values from payloads are checked in one place (a tampered id or reason gets a listed
refusal, never a crash); one reject is one record; fifty "Metrics OK" clicks are one
confirmation; a closed request takes no severity."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from bot import decision_log
from bot.clock import FakeClock
from bot.errors import Refusal, WarroomError
from bot.ids.rollback import RollbackAction, RollbackBlock
from bot.local import payloads
from bot.local.fake_slack import Message
from bot.playbook import MetricCheck, Playbook, RollbackVerify
from bot.services import build_services
from bot.settings import Settings
from tests.conftest import PRODUCT, SRE, SUPPORT, HttpResponse, LiveBot
from tests.rollback_support import E2E_OK, click, request_message, rollback_playbook


@pytest.fixture
def playbook() -> Playbook:
    return rollback_playbook()


def actions(bot: LiveBot, action: str) -> int:
    return [r.action for r in decision_log.recent(bot.services.engine, 100)].count(action)


def reject_form(bot: LiveBot) -> tuple[Message, dict]:
    bot.command("checkout errors at 5 %", user=SRE, command="/rollback")
    message = request_message(bot)
    click(bot, SUPPORT, RollbackAction.REJECT, "1", message)
    return message, bot.fake.wait_for(lambda f: f.views)[0]


def submit(bot: LiveBot, modal: dict, reason: str, metadata: str | None = None) -> HttpResponse:
    if metadata is not None:
        modal = {**modal, "private_metadata": metadata}
    body = payloads.view_submission(
        SUPPORT, modal, {RollbackBlock.REJECT_REASON: {RollbackBlock.REJECT_REASON_INPUT: reason}}
    )
    return bot.post(body)


def test_one_reject_writes_one_record(live_bot: LiveBot) -> None:
    message, modal = reject_form(live_bot)
    assert submit(live_bot, modal, "error rate already back under 1 %").status_code == 200
    live_bot.fake.wait_for(lambda f: "rejected" in message.text)
    assert actions(live_bot, "rollback.reject") == 1


@pytest.mark.parametrize("metadata", ["abc", "", "1" + "0" * 23, "-1", "١"])
def test_a_tampered_form_id_gets_a_listed_error(live_bot: LiveBot, metadata: str) -> None:
    _, modal = reject_form(live_bot)
    answer = submit(live_bot, modal, "fine now", metadata)
    assert answer.status_code == 200
    error = answer.json()["errors"][RollbackBlock.REJECT_REASON]
    assert "is not a rollback request number" in error
    assert live_bot.services.rollback.view(1).request.status == "open"


def test_a_forged_long_reason_is_refused_by_the_domain(live_bot: LiveBot) -> None:
    _, modal = reject_form(live_bot)
    answer = submit(live_bot, modal, "x" * 100_000)
    assert (
        "100,000 characters long; 500 at most"
        in answer.json()["errors"][RollbackBlock.REJECT_REASON]
    )
    assert live_bot.services.rollback.view(1).request.status == "open"
    assert actions(live_bot, "rollback.reject") == 0


@pytest.mark.parametrize("value", ["abc", "1.5", "1" + "0" * 23, ""])
def test_a_tampered_button_value_is_refused_clearly(live_bot: LiveBot, value: str) -> None:
    live_bot.command("checkout errors at 5 %", user=SRE, command="/rollback")
    message = request_message(live_bot)
    click(live_bot, PRODUCT, RollbackAction.APPROVE, value, message)
    live_bot.fake.wait_for(
        lambda f: any("is not a rollback request number" in m.text for m in f.ephemerals(PRODUCT))
    )
    assert not any("went wrong" in m.text for m in live_bot.fake.ephemerals(PRODUCT))


def test_fifty_metrics_ok_clicks_make_one_confirmation(
    settings: Settings, clock: FakeClock
) -> None:
    checks = [MetricCheck(metric="saga_success_rate", op=">", value=95)]
    book = rollback_playbook(verify=RollbackVerify(checks=checks, e2e_command=E2E_OK))
    services = build_services(settings, book, clock, sleep=lambda seconds: None)
    services.rollback.open(SRE, ["checkout", "broken"])
    services.rollback.approve(1, PRODUCT)
    services.rollback.approve(1, SUPPORT)
    services.runbook.wait_idle()
    go = threading.Barrier(50)
    outcomes: list[str] = []

    def click_ok() -> None:
        go.wait()
        try:
            services.runbook.confirm_metrics(1, SRE)
            outcomes.append("ok")
        except WarroomError:  # said to the person: someone else confirmed / nothing waits
            outcomes.append("refused")
        except Exception as exc:  # noqa: BLE001 - the assertion names it
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=click_ok) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    services.runbook.wait_idle()
    records = [r.action for r in decision_log.recent(services.engine, 200)]
    assert records.count("rollback.metrics_confirmed") == 1
    assert sorted(set(outcomes)) == ["ok", "refused"] and outcomes.count("ok") == 1, outcomes
    assert services.rollback.view(1).request.status == "done"


def test_no_severity_on_an_expired_or_rejected_request(
    settings: Settings, clock: FakeClock
) -> None:
    services = build_services(settings, rollback_playbook(), clock)
    services.rollback.open(SRE, ["checkout", "broken"])
    services.rollback.reject(1, SUPPORT, "recovered")
    clock.advance(timedelta(minutes=1))
    services.rollback.open(SRE, ["checkout", "again"])
    clock.advance(timedelta(minutes=31))
    services.rollback.expire_due()
    for request_id, status in ((1, "rejected"), (2, "expired")):
        with pytest.raises(Refusal, match=f"was {status}"):
            services.rollback.declare_incident(request_id, SRE, "2")
        assert services.rollback.view(request_id).request.incident_severity is None

"""A declared Sev2-or-worse incident is a rollback trigger: with no request open, it opens a
critical one with the evidence, as a firing metric trigger does."""

from __future__ import annotations

import pytest

from bot.ids.rollback import RollbackAction
from bot.playbook import Playbook
from tests.conftest import SRE, LiveBot
from tests.rollback_support import buttons, request_message, rollback_playbook


@pytest.fixture
def playbook() -> Playbook:
    return rollback_playbook()


def test_sev2_with_no_open_request_opens_a_critical_one(live_bot: LiveBot) -> None:
    live_bot.command("incident 2 checkout down for every user", user=SRE, command="/rollback")
    message = request_message(live_bot)
    live_bot.fake.wait_for(
        lambda f: any("Sev2 recorded on rollback #1" in m.text for m in f.ephemerals(SRE))
    )
    view = live_bot.services.rollback.view(1)
    request = view.request
    assert request.critical and request.incident_severity == 2
    assert request.requested_by == "trigger:incident_sev2"
    assert request.evidence["incident_severity"] == 2 and request.evidence["declared_by"] == SRE
    assert "checkout down for every user" in request.reason
    live_bot.fake.wait_for(lambda f: RollbackAction.BREAK_GLASS in buttons(message))


def test_a_second_declaration_marks_the_open_request_and_sev3_opens_nothing(
    live_bot: LiveBot,
) -> None:
    live_bot.command("incident sev3 slow search", user=SRE, command="/rollback")
    live_bot.fake.wait_for(
        lambda f: any("Sev3 is not a rollback trigger" in m.text for m in f.ephemerals(SRE))
    )
    assert live_bot.services.rollback.recent() == []
    live_bot.command("checkout errors at 5 %", user=SRE, command="/rollback")
    request_message(live_bot)
    live_bot.command("incident 1 payments failing", user=SRE, command="/rollback")
    live_bot.fake.wait_for(
        lambda f: any("Sev1 recorded on rollback #1" in m.text for m in f.ephemerals(SRE))
    )
    assert [v.id for v in live_bot.services.rollback.recent()] == [1]
    assert live_bot.services.rollback.view(1).request.critical

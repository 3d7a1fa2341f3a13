"""An incident's alert through Alertmanager's webhook (label `warroom_incident`, severity
sev1/sev2 or a name the playbook maps) opens a critical rollback request with the
evidence, like a firing metric trigger, once per incident."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr
from sqlmodel import Session, select

from bot.metrics.rules import INCIDENT_LABEL
from bot.settings import Settings
from storage.models import RollbackRequest, TriggerEpisode
from tests.conftest import LiveBot

TOKEN = "am-incident-token"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"warroom_alertmanager_token": SecretStr(TOKEN)})


def incident(
    bot: LiveBot, labels: dict[str, str], status: str = "firing", starts: str = "10:00"
) -> list[dict[str, Any]]:
    alert = {
        "status": status,
        "labels": {"alertname": "IncidentDeclared", **labels},
        "annotations": {"summary": "payments failing for every user"},
        "startsAt": f"2026-11-30T{starts}:00Z",
        "generatorURL": "https://incidents.example/INC-42",
    }
    answer = bot.http.post(
        f"{bot.url}/hooks/alertmanager",
        json={"version": "4", "status": status, "alerts": [alert]},
        headers={"authorization": f"Bearer {TOKEN}"},
    )
    assert answer.status_code == 200, answer.text
    handled: list[dict[str, Any]] = answer.json()["handled"]
    return handled


def requests(bot: LiveBot) -> list[RollbackRequest]:
    with Session(bot.services.engine) as session:
        return list(session.exec(select(RollbackRequest)))


def test_a_sev2_incident_opens_one_critical_rollback_with_its_evidence(live_bot: LiveBot) -> None:
    labels = {INCIDENT_LABEL: "INC-42", "severity": "sev2"}
    [done] = incident(live_bot, labels)
    assert done == {"incident": "INC-42", "severity": 2, "opened": True, "request": 1}
    [request] = requests(live_bot)
    assert request.critical and request.incident_severity == 2
    assert request.requested_by == "trigger:incident_sev2"
    assert request.reason.startswith("Sev2 incident INC-42")
    evidence = request.evidence
    assert evidence["incident"] == "INC-42" and evidence["severity_label"] == "sev2"
    assert evidence["summary"] == "payments failing for every user"
    assert evidence["generatorURL"] == "https://incidents.example/INC-42"
    live_bot.fake.wait_for(
        lambda f: any(
            "Trigger `incident_sev2` firing (alertmanager): Sev2 incident INC-42" in m.text
            and "Rollback request #1 opened" in m.text
            for m in f.channel_messages()
        )
    )
    # Alertmanager repeats it, then resolves it, then the incident flaps back: still one
    assert incident(live_bot, labels)[0]["opened"] is False
    assert incident(live_bot, labels, status="resolved")[0]["resolved"] is True
    assert incident(live_bot, labels, starts="11:00")[0]["opened"] is False
    assert len(requests(live_bot)) == 1
    with Session(live_bot.services.engine) as session:
        [episode] = session.exec(select(TriggerEpisode))
    assert episode.resolved_at is not None and episode.request_id == 1


def test_critical_is_mapped_by_the_playbook_and_sev3_opens_nothing(live_bot: LiveBot) -> None:
    [minor] = incident(live_bot, {INCIDENT_LABEL: "INC-7", "severity": "sev3"})
    assert minor["severity"] == 3 and "not a rollback trigger" in minor["ignored"]
    assert requests(live_bot) == []
    [major] = incident(live_bot, {INCIDENT_LABEL: "INC-8", "severity": "critical"})
    assert major["severity"] == 1 and major["opened"] is True
    [request] = requests(live_bot)
    assert request.critical and request.incident_severity == 1


def test_a_critical_alert_that_is_no_incident_opens_nothing(live_bot: LiveBot) -> None:
    assert incident(live_bot, {"severity": "critical"}) == []  # some other team's alert
    [bad] = incident(live_bot, {INCIDENT_LABEL: "<!channel>", "severity": "sev1"})
    assert bad["incident"] is None and "incident id" in bad["ignored"]
    assert requests(live_bot) == []

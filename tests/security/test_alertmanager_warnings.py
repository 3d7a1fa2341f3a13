"""Early warnings for all three launch metrics: `warroom rules` writes a warning rule for
error_rate, checkout_completion and response_time, and each one arriving through
Alertmanager's webhook posts the warning line."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from bot.metrics.rules import METRIC_LABEL, rules
from bot.playbook import Playbook
from bot.settings import Settings
from tests.conftest import LiveBot

TOKEN = "am-warnings-token"
WARNED = ("error_rate", "checkout_completion", "response_time_p95")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"warroom_alertmanager_token": SecretStr(TOKEN)})


def test_the_generated_rules_warn_on_all_three_metrics(playbook: Playbook) -> None:
    written = rules(playbook)["groups"][0]["rules"]
    warned = {r["labels"][METRIC_LABEL] for r in written if METRIC_LABEL in r["labels"]}
    assert set(WARNED) <= warned


@pytest.mark.parametrize(
    ("metric", "value"), [("checkout_completion", 90), ("response_time_p95", 1300)]
)
def test_a_warning_from_alertmanager_is_posted(live_bot: LiveBot, metric: str, value: int) -> None:
    alert = {
        "status": "firing",
        "labels": {"alertname": f"warroom_{metric}_warning", METRIC_LABEL: metric},
        "annotations": {"value": str(value)},
        "startsAt": "2026-11-30T09:00:00Z",
    }
    answer = live_bot.http.post(
        f"{live_bot.url}/hooks/alertmanager",
        json={"version": "4", "status": "firing", "alerts": [alert]},
        headers={"authorization": f"Bearer {TOKEN}"},
    )
    assert answer.json()["handled"] == [{"warning": metric, "firing": True}]
    live_bot.fake.wait_for(
        lambda f: any(f"`{metric}` is {value}" in m.text for m in f.channel_messages())
    )

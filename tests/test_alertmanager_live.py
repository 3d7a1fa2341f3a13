"""End to end with Debian's Prometheus and Alertmanager: Prometheus evaluates the rules
`warroom rules` wrote, Alertmanager sends its webhook to the bot, the bot opens the
rollback; the bot's own evaluator, seeing the same breach, adds nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlmodel import Session, select

from bot.metrics.prometheus import PrometheusReader
from bot.metrics.rules import rules_yaml
from bot.playbook import Playbook
from bot.settings import Settings
from storage.models import TriggerEpisode
from tests.conftest import LiveBot
from tests.prom_support import ALERTMANAGER, PROMETHEUS, Alertmanager, Exporter, Prometheus
from tests.test_metrics_live import integrations_playbook

pytestmark = [
    pytest.mark.slow,
    pytest.mark.sqlite_only("Prometheus and Alertmanager are the point"),
    pytest.mark.skipif(
        PROMETHEUS is None or ALERTMANAGER is None,
        reason="prometheus and prometheus-alertmanager are not installed (.ci/run installs them)",
    ),
]

TOKEN = "am-bearer-token"


@pytest.fixture
def exporter() -> Iterator[Exporter]:
    e = Exporter()
    e.error_rate.set(0.5)
    yield e
    e.stop()


@pytest.fixture
def playbook() -> Playbook:
    # a `for` longer than a scrape and an evaluation, so that Alertmanager's startsAt (when
    # the alert fired) and the breach's start are told apart: startsAt is at least 5 s after
    # activeAt, which is at most 0.5 s before the truth, so startsAt - truth >= 4.5 s, outside
    # the 3.5 s the test allows the breach start
    return integrations_playbook(window="5s")


@pytest.fixture
def settings(settings: Settings, exporter: Exporter, tmp_path: Path) -> Iterator[Settings]:
    # the bot's own evaluator reads the same Prometheus
    yield settings.model_copy(update={"warroom_alertmanager_token": SecretStr(TOKEN)})


def episode_start(bot: LiveBot) -> datetime:
    with Session(bot.services.engine) as session:
        [episode] = session.exec(select(TriggerEpisode))
    started = episode.breach_started_at
    return started if started.tzinfo else started.replace(tzinfo=UTC)


def test_webhook_refuses_without_the_token_and_bad_payloads(served_bot: LiveBot) -> None:
    url = f"{served_bot.url}/hooks/alertmanager"
    assert httpx.post(url, json={"version": "4", "alerts": []}).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert httpx.post(url, json={"version": "4", "alerts": []}, headers=wrong).status_code == 401
    ok = {"Authorization": f"Bearer {TOKEN}"}
    bad = httpx.post(url, content=b"{not json", headers=ok)
    assert bad.status_code == 400 and bad.json()["errors"][0]["message"] == "not valid JSON"
    assert httpx.post(url, json={"version": "3", "alerts": []}, headers=ok).status_code == 422
    assert httpx.post(url, json={"version": "4", "alerts": []}, headers=ok).json() == {
        "handled": []
    }


def test_prometheus_rules_through_alertmanager_open_one_rollback(
    served_bot: LiveBot, exporter: Exporter, playbook: Playbook, tmp_path: Path
) -> None:
    alertmanager = Alertmanager(tmp_path, f"{served_bot.url}/hooks/alertmanager", TOKEN)
    prometheus = Prometheus(tmp_path, exporter.port, rules_yaml(playbook), alertmanager.url)
    try:
        alertmanager.wait_ready()
        prometheus.wait_for_sample("warroom_test_error_rate")
        # the bot reads this Prometheus: the breach start is the alert's activeAt there
        served_bot.services.evaluator.reader = PrometheusReader(prometheus.url, playbook)
        exporter.error_rate.set(8)
        truth = datetime.now(UTC)
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline and not served_bot.services.rollback.recent():
            time.sleep(0.1)
        requests = served_bot.services.rollback.recent()
        assert len(requests) == 1, (tmp_path / "alertmanager.log").read_text()
        assert requests[0].request.evidence["source"] == "alertmanager"
        assert requests[0].request.evidence["breach_start"] == "prometheus activeAt"
        # MTTD from the breach: within a scrape and an evaluation (1 s each) of the truth
        started = episode_start(served_bot)
        assert -0.5 <= (started - truth).total_seconds() <= 3.5, (started, truth)
        # the warning rule (error_rate > 1.5) is posted from Alertmanager, before any
        # evaluation by the bot itself
        served_bot.fake.wait_for(
            lambda f: any("`error_rate` is 8" in m.text for m in f.channel_messages()), timeout=20
        )
        # the bot's evaluator sees the same breach, for its own `for`, and fires: no second
        # rollback (it must get to "fired": twelve rounds 0.3 s apart ended while it was
        # still pending, and a second rollback there went unseen)
        reader_services = served_bot.services
        reader_services.evaluator.reader = PrometheusReader(prometheus.url, playbook)
        deadline = time.monotonic() + 20
        while not any(
            (o.trigger, o.event) == ("error_rate_critical", "fired")
            for o in reader_services.evaluator.evaluate()
        ):
            assert time.monotonic() < deadline, "the bot's evaluator never fired"
            time.sleep(0.1)
        assert len(served_bot.services.rollback.recent()) == 1
        firing = [m.text for m in served_bot.fake.channel_messages() if "firing" in m.text]
        assert len(firing) == 1 and "(alertmanager)" in firing[0]
        exporter.error_rate.set(0.5)
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline and not any(
            "resolved" in m.text for m in served_bot.fake.channel_messages()
        ):
            reader_services.evaluator.evaluate()
            time.sleep(0.1)
        assert any(
            "Trigger `error_rate_critical` resolved" in m.text
            for m in served_bot.fake.channel_messages()
        )
    finally:
        prometheus.stop()
        alertmanager.stop()

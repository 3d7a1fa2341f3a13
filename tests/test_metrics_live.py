"""The evaluator against a real Prometheus (Debian's package) scraping a tiny exporter."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import cast

import pytest
from pydantic import SecretStr

from bot.clock import Clock, FakeClock, SystemClock
from bot.integrations.metrics import MetricsReader
from bot.local.fake_slack import FakeSlack
from bot.metrics.alertmanager import handle_alerts
from bot.metrics.evaluator import Outcome
from bot.metrics.prometheus import PrometheusReader
from bot.playbook import Alert, EvaluationSettings, Metric, Playbook, Trigger, load_playbook
from bot.services import Services, build_services
from bot.settings import Settings
from storage.models import TriggerEpisode
from tests.prom_support import PROMETHEUS, Exporter, Prometheus

pytestmark = [
    pytest.mark.slow,
    pytest.mark.sqlite_only("Prometheus is the point"),
    pytest.mark.skipif(
        PROMETHEUS is None,
        reason="prometheus is not installed (Debian package `prometheus`; .ci/run installs it)",
    ),
]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Exporter, Prometheus]]:
    exporter = Exporter()
    exporter.error_rate.set(0.5)
    exporter.completion.set(95)
    prometheus = Prometheus(tmp_path_factory.mktemp("prometheus"), exporter.port)
    try:
        prometheus.wait_for_sample("warroom_test_error_rate")
        yield exporter, prometheus
    finally:
        prometheus.stop()
        exporter.stop()


@pytest.fixture
def settings(settings: Settings, live: tuple[Exporter, Prometheus]) -> Settings:
    """Every test here reads the module's Prometheus."""
    return settings.model_copy(update={"prometheus_url": live[1].url})


def integrations_playbook(window: str = "3s") -> Playbook:
    book = load_playbook()
    metrics = {
        **book.metrics,
        "error_rate": Metric(unit="%", query="warroom_test_error_rate"),
        "checkout_completion": Metric(unit="%", query="warroom_test_checkout_completion"),
        "absent": Metric(unit="%", query="warroom_test_absent_series"),
    }
    triggers = [
        Trigger(
            name="error_rate_critical", metric="error_rate", op=">", value=4, **{"for": window}
        ),
        Trigger(name="absent_low", metric="absent", op="<", value=1),
    ]
    return book.model_copy(
        update={
            "metrics": metrics,
            "triggers": triggers,
            "alerts": [Alert(metric="error_rate", direction="above", warning=1.5, critical=4)],
            "evaluation": EvaluationSettings(interval_seconds=1, no_data_warning_minutes=5),
        }
    )


def bot(settings: Settings, prometheus: Prometheus, clock: Clock | None = None) -> Services:
    settings = settings.model_copy(
        update={
            "prometheus_url": prometheus.url,
            "warroom_alertmanager_token": SecretStr("am-token"),
        }
    )
    return build_services(settings, integrations_playbook(), clock or SystemClock())


def wait_value(
    reader: MetricsReader | None,
    metric: str,
    predicate: Callable[[float], bool],
    timeout: float = 15,
) -> None:
    assert reader is not None  # the bot's settings name a Prometheus
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reading = reader.read(metric)
        if reading is not None and predicate(reading.value):
            return
        time.sleep(0.2)
    raise TimeoutError(f"{metric} never satisfied the condition")


def evaluate_until(services: Services, event: str, timeout: float = 20) -> Outcome:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for outcome in services.evaluator.evaluate():
            if outcome.trigger == "error_rate_critical" and outcome.event == event:
                return outcome
        time.sleep(0.25)
    raise TimeoutError(f"no {event}")


def test_a_breach_through_the_window_fires_once_and_recovery_resolves(
    live: tuple[Exporter, Prometheus],
    settings: Settings,
    fake_slack: FakeSlack,
) -> None:
    exporter, prometheus = live
    services = bot(settings, prometheus)
    reader = services.evaluator.reader
    exporter.error_rate.set(5.2)
    wait_value(reader, "error_rate", lambda v: v > 5)
    pending = evaluate_until(services, "pending")
    assert pending.value == pytest.approx(5.2)
    evaluate_until(services, "fired")
    for _ in range(4):
        services.evaluator.evaluate()  # still firing: nothing new
    requests = services.rollback.recent()
    assert len(requests) == 1 and requests[0].request.requested_by == "trigger:error_rate_critical"
    assert requests[0].request.critical
    posts = [m.text for m in fake_slack.channel_messages()]
    assert sum("is 5.2 (warning 1.5" in p for p in posts) == 1
    assert sum("Trigger `error_rate_critical` firing" in p for p in posts) == 1
    ((trigger, mttd),) = services.evaluator.mttd()
    assert trigger == "error_rate_critical" and 3 <= mttd < 8  # the window, plus a round or so
    exporter.error_rate.set(0.4)
    wait_value(reader, "error_rate", lambda v: v < 1)
    evaluate_until(services, "resolved")
    posts = [m.text for m in fake_slack.channel_messages()]
    assert any("resolved (now 0.4)" in p for p in posts)
    assert any("`error_rate` back to 0.4" in p for p in posts)


def test_one_good_sample_in_the_window_does_not_fire(
    live: tuple[Exporter, Prometheus],
    settings: Settings,
    fake_slack: FakeSlack,
) -> None:
    exporter = live[0]
    services = build_services(
        settings,
        integrations_playbook(window="30s"),
        SystemClock(),
    )
    reader = services.evaluator.reader
    exporter.error_rate.set(6)
    wait_value(reader, "error_rate", lambda v: v == 6)
    evaluate_until(services, "pending")
    exporter.error_rate.set(2)
    wait_value(reader, "error_rate", lambda v: v == 2)
    evaluate_until(services, "reset")
    assert services.rollback.recent() == []
    exporter.error_rate.set(0.5)
    wait_value(reader, "error_rate", lambda v: v == 0.5)


def test_no_data_warns_after_the_gap_and_does_not_fire(
    live: tuple[Exporter, Prometheus],
    settings: Settings,
    fake_slack: FakeSlack,
    clock: FakeClock,
) -> None:
    _, prometheus = live
    services = bot(settings, prometheus, clock)
    reader = cast(MetricsReader, services.evaluator.reader)  # the bot reads Prometheus
    assert reader.read("absent") is None  # no data, not an error
    services.evaluator.evaluate()
    clock.advance(timedelta(minutes=4))
    services.evaluator.evaluate()
    assert not [m for m in fake_slack.channel_messages() if "No data" in m.text]
    clock.advance(timedelta(minutes=1))
    services.evaluator.evaluate()
    services.evaluator.evaluate()
    warnings = [m.text for m in fake_slack.channel_messages() if "No data" in m.text]
    assert len(warnings) == 1 and "`absent`" in warnings[0]
    assert services.rollback.recent() == []


def test_query_errors_are_errors_not_no_data(
    live: tuple[Exporter, Prometheus], settings: Settings
) -> None:
    from bot.integrations import IntegrationError

    _, prometheus = live
    book = integrations_playbook()
    broken = book.model_copy(
        update={"metrics": {**book.metrics, "error_rate": Metric(unit="%", query="sum(rate(")}}
    )
    reader = PrometheusReader(prometheus.url, broken)
    with pytest.raises(IntegrationError, match="query error_rate failed: Prometheus answered 400"):
        reader.read("error_rate")
    dead = PrometheusReader("http://127.0.0.1:9", broken, retries=2, backoff=0)
    with pytest.raises(IntegrationError, match="failed after 2 tries"):
        dead.read("checkout_completion")


def test_alertmanager_and_evaluator_open_one_rollback_between_them(
    live: tuple[Exporter, Prometheus],
    settings: Settings,
    fake_slack: FakeSlack,
) -> None:
    exporter, prometheus = live
    services = bot(settings, prometheus)
    alert = {
        "status": "firing",
        "labels": {
            "alertname": "warroom_error_rate_critical",
            "warroom_trigger": "error_rate_critical",
        },
        "annotations": {"summary": "error_rate > 4 for 5m"},
        "startsAt": "2026-11-27T23:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": f"{prometheus.url}/graph",
        "fingerprint": "c0ffee",
    }
    assert handle_alerts(services.evaluator, [alert]) == [
        {"trigger": "error_rate_critical", "fired": True}
    ]
    assert handle_alerts(services.evaluator, [alert]) == [
        {"trigger": "error_rate_critical", "fired": False}
    ]
    exporter.error_rate.set(7)
    wait_value(services.evaluator.reader, "error_rate", lambda v: v == 7)
    evaluate_until(services, "fired")
    assert len(services.rollback.recent()) == 1
    from sqlmodel import Session, select

    with Session(services.engine) as session:
        episodes = list(session.exec(select(TriggerEpisode)))
    assert [(e.source, e.fingerprint) for e in episodes] == [("alertmanager", "c0ffee")]
    resolved = {**alert, "status": "resolved"}
    assert handle_alerts(services.evaluator, [resolved]) == [
        {"trigger": "error_rate_critical", "resolved": True}
    ]
    exporter.error_rate.set(0.5)
    wait_value(services.evaluator.reader, "error_rate", lambda v: v == 0.5)


def test_a_failing_query_is_reported_once_until_it_works(
    live: tuple[Exporter, Prometheus],
    settings: Settings,
    fake_slack: FakeSlack,
) -> None:
    book = integrations_playbook()
    broken = book.model_copy(
        update={"metrics": {**book.metrics, "error_rate": Metric(unit="%", query="sum(rate(")}}
    )
    services = build_services(settings, broken, SystemClock())
    for _ in range(3):
        outcomes = services.evaluator.evaluate()
    assert ("error_rate_critical", "error") in [(o.trigger, o.event) for o in outcomes]
    errors = [m.text for m in fake_slack.channel_messages() if "Cannot evaluate" in m.text]
    assert len(errors) == 1 and "query error_rate failed" in errors[0]


def test_alertmanager_repeats_do_not_reopen_a_resolved_episode(
    live: tuple[Exporter, Prometheus],
    settings: Settings,
) -> None:
    _, prometheus = live
    services = bot(settings, prometheus)
    alert = {
        "status": "firing",
        "labels": {"warroom_trigger": "error_rate_critical"},
        "startsAt": "2026-11-27T22:00:00Z",
        "fingerprint": "abc123",
    }
    assert handle_alerts(services.evaluator, [alert])[0]["fired"] is True
    services.evaluator.resolve("error_rate_critical")
    assert (
        handle_alerts(services.evaluator, [alert])[0]["fired"] is False
    )  # the same alert, repeated
    later = {**alert, "startsAt": "2026-11-27T23:30:00Z"}
    assert handle_alerts(services.evaluator, [later])[0]["fired"] is True  # a new episode
    assert len(services.rollback.recent()) == 2


def test_backtest_replays_past_data(
    live: tuple[Exporter, Prometheus], settings: Settings, tmp_path: Path
) -> None:
    import os
    import subprocess
    import sys

    import yaml

    exporter, prometheus = live
    exporter.error_rate.set(9)
    reader = PrometheusReader(prometheus.url, integrations_playbook())
    wait_value(reader, "error_rate", lambda v: v == 9)
    time.sleep(4)
    exporter.error_rate.set(0.5)
    wait_value(reader, "error_rate", lambda v: v == 0.5)
    time.sleep(1.5)
    book = tmp_path / "playbook.yml"
    book.write_text(yaml.safe_dump(integrations_playbook().model_dump(mode="json", by_alias=True)))
    now = time.time()
    env = {**os.environ, "PROMETHEUS_URL": prometheus.url, "WARROOM_PLAYBOOK": str(book)}
    from datetime import UTC, datetime

    start = datetime.fromtimestamp(now - 20, UTC).isoformat()
    end = datetime.fromtimestamp(now, UTC).isoformat()
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "backtest", "--from", start, "--to", end, "--step", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    events = [
        line.split()[4] for line in result.stdout.splitlines() if "error_rate_critical" in line
    ]
    # the module shares one Prometheus: earlier tests left their own episodes before ours
    assert events[-3:] == ["pending", "fired", "resolved"], result.stdout


def test_kpis_show_marks_and_numbers(live: tuple[Exporter, Prometheus], settings: Settings) -> None:
    from bot.metrics.kpis import kpi_lines

    exporter, prometheus = live
    book = integrations_playbook()
    reader = PrometheusReader(prometheus.url, book)
    exporter.error_rate.set(1.0)
    wait_value(reader, "error_rate", lambda v: v == 1.0)
    lines = {line.split()[1].rstrip(":"): line for line in kpi_lines(book, reader)}
    assert lines["error_rate"].startswith("✅ error_rate: 1 % — goal < 2 %")
    assert "as of" in lines["error_rate"]
    exporter.error_rate.set(3.0)
    wait_value(reader, "error_rate", lambda v: v == 3.0)
    assert kpi_lines(book, reader)[0].startswith("⚠️ error_rate: 3 %")
    exporter.error_rate.set(4.5)
    wait_value(reader, "error_rate", lambda v: v == 4.5)
    assert kpi_lines(book, reader)[0].startswith("🛑 error_rate: 4.5 %")
    exporter.error_rate.set(0.5)
    wait_value(reader, "error_rate", lambda v: v == 0.5)
    assert kpi_lines(book, None) == ["no metrics source configured (set PROMETHEUS_URL)"]


def test_the_runbook_verifies_with_prometheus_over_its_window(
    live: tuple[Exporter, Prometheus],
    settings: Settings,
    clock: FakeClock,
) -> None:
    from bot.playbook import MetricCheck, RollbackVerify
    from tests.conftest import PRODUCT, SRE, SUPPORT

    exporter = live[0]
    book = integrations_playbook()
    book = book.model_copy(
        update={
            "rollback": book.rollback.model_copy(
                update={
                    "verify": RollbackVerify(
                        checks=[MetricCheck(metric="checkout_completion", op=">", value=90)],
                        e2e_command="",
                        window_seconds=20,
                        sample_seconds=10,
                    ),
                    "step_backoff_seconds": 0,
                }
            )
        }
    )
    sleeps: list[float] = []
    services = build_services(
        settings,
        book,
        clock,
        sleep=sleeps.append,
    )
    exporter.completion.set(97)
    wait_value(services.evaluator.reader, "checkout_completion", lambda v: v == 97)
    services.rollback.open(SRE, ["checkout", "errors"])
    services.rollback.approve(1, PRODUCT)
    services.rollback.approve(1, SUPPORT)
    services.runbook.wait_idle()
    verify = next(s for s in services.rollback.view(1).steps if s.name == "verify")
    assert verify.status == "done" and sleeps == [10, 10]  # three samples over 20 s
    assert verify.output["metrics"]["checkout_completion"] == {
        "value": 97.0,
        "ok": True,
        "samples": 3,
    }


def test_pagerduty_is_paged_once_per_episode_and_resolved(
    live: tuple[Exporter, Prometheus],
    settings: Settings,
    clock: FakeClock,
) -> None:
    from tests.sinks import HttpSink

    _, prometheus = live
    pager = HttpSink().start()
    try:
        services = build_services(
            settings.model_copy(
                update={
                    "prometheus_url": prometheus.url,
                    "pagerduty_routing_key": SecretStr("R0UTINGKEY"),
                    "pagerduty_events_url": pager.url + "/v2/enqueue",
                }
            ),
            integrations_playbook(),
            clock,
        )
        started = clock.now() - timedelta(minutes=1)
        services.evaluator.fire(
            "error_rate_critical", "alertmanager", started, {"value": 5.0}, fingerprint="f1"
        )
        services.evaluator.fire("error_rate_critical", "evaluator", started, {"value": 5.0})
        services.evaluator.resolve("error_rate_critical")
        events = [h.body for h in pager.to("/v2/enqueue")]
        assert [e["event_action"] for e in events] == ["trigger", "resolve"]
        assert events[0]["dedup_key"] == events[1]["dedup_key"] == "warroom:error_rate_critical:1"
        assert events[0]["routing_key"] == "R0UTINGKEY"
        assert events[0]["payload"]["severity"] == "critical"
    finally:
        pager.stop()


def test_a_shift_checklist_shows_its_live_values(
    live: tuple[Exporter, Prometheus],
    settings: Settings,
    clock: FakeClock,
    fake_slack: FakeSlack,
) -> None:
    from bot.playbook import Shift
    from tests.conftest import PRODUCT
    from tests.test_schedules import local

    exporter = live[0]
    book = integrations_playbook()
    shift = Shift(
        name="SRE shift A",
        at="09:00",
        owners=["sre"],
        items=["error_rate"],
        metrics=["error_rate", "checkout_completion"],
    )
    book = book.model_copy(update={"shifts": [shift]})
    services = build_services(settings, book, clock)
    exporter.error_rate.set(1.0)
    exporter.completion.set(95)
    wait_value(services.evaluator.reader, "error_rate", lambda v: v == 1.0)
    wait_value(services.evaluator.reader, "checkout_completion", lambda v: v == 95)
    clock.set(local("2026-11-29 09:00"))
    services.rollout.launch(PRODUCT, "2026-12-01 08:00")
    clock.set(local("2026-12-01 09:00"))
    services.schedule.tick()
    checklist = next(m for m in fake_slack.channel_messages() if "checklist" in m.text)
    live_line = str(checklist.blocks)
    assert "Live: ✅ error_rate: 1 % — goal < 2 %" in live_line
    assert "checkout_completion: 95 % — no goal" in live_line
    options = next(b for b in checklist.blocks if b.get("block_id") == "checklist.items")[
        "elements"
    ][0]["options"]
    run_id = int(options[0]["value"].split(":")[0])
    services.checklists.set_ticks(run_id, "U0SRE00001", [0])  # a refresh keeps the values
    assert "Live: ✅ error_rate: 1 %" in str(checklist.blocks)
    exporter.error_rate.set(0.5)
    wait_value(services.evaluator.reader, "error_rate", lambda v: v == 0.5)


def test_first_hour_snapshots_carry_live_values(
    live: tuple[Exporter, Prometheus],
    settings: Settings,
    clock: FakeClock,
    fake_slack: FakeSlack,
) -> None:
    from tests.conftest import PRODUCT
    from tests.test_schedules import local

    exporter = live[0]
    book = integrations_playbook()
    book = book.model_copy(
        update={
            "first_hour_snapshots": book.first_hour_snapshots.model_copy(
                update={"metrics": ["checkout_completion"]}
            )
        }
    )
    services = build_services(settings, book, clock)
    exporter.completion.set(93)
    wait_value(services.evaluator.reader, "checkout_completion", lambda v: v == 93)
    clock.set(local("2026-11-29 09:00"))
    services.rollout.launch(PRODUCT, "2026-12-01 10:00")
    clock.set(local("2026-12-01 10:15"))
    services.schedule.tick()
    snapshot = next(m for m in fake_slack.channel_messages() if "T+15 min snapshot" in m.text)
    assert "checkout_completion: 93 % (as of" in str(snapshot.blocks)


def test_the_report_reads_the_days_values_from_prometheus(
    live: tuple[Exporter, Prometheus], settings: Settings
) -> None:
    from datetime import UTC, datetime, timedelta

    from bot.reports.chart import render_png
    from bot.reports.figures import collect

    exporter, prometheus = live
    book = integrations_playbook()
    reader = PrometheusReader(prometheus.url, book)
    exporter.error_rate.set(0.5)
    wait_value(reader, "error_rate", lambda v: v == 0.5)
    time.sleep(1.5)  # past the previous value's last sample
    start = datetime.now(UTC)
    time.sleep(3)
    services = build_services(settings, book, SystemClock())
    figures = collect(
        services.engine, book, reader, "Daily report", start, start + timedelta(seconds=3)
    )
    kpis = {k.metric: k for k in figures.kpis}
    assert (kpis["error_rate"].mark, kpis["error_rate"].value) == ("✅", 0.5)
    assert kpis["error_rate"].detail == "worst of the period; last 0.5"
    assert kpis["response_time_p95"].mark == "❔"  # its series does not exist here
    assert figures.error_rate and all(value == 0.5 for _, value in figures.error_rate)
    assert render_png(figures, 2.0, 4.0).startswith(b"\x89PNG")

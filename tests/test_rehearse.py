"""The rehearsal: shipped scenarios played on the virtual clock against the real app, the
loopback Slack and the story-fed Prometheus stand-in, and graded against the playbook's
promises. Each scenario is played once per module (to T+4h or so: its episode is over by
then) and its run shared by the tests that read it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.playbook import Playbook, load_playbook, parse_duration
from bot.rehearse.driver import Rehearsal, Run
from bot.rehearse.grade import Grade, grade, static_promises
from bot.rehearse.grade_checks import Promise, utc
from bot.rehearse.scenario import load_scenario
from storage.models import FeedbackItem, RollbackRequest, TriggerEpisode

pytestmark = [
    pytest.mark.slow,
    pytest.mark.sqlite_only("a rehearsal always plays on its own SQLite file"),
]

ROOT = Path(__file__).resolve().parent.parent


def playbook_held(trigger_for: str) -> Playbook:
    """The bundled playbook with `error_rate_critical` held `trigger_for`. The bundled 5 m
    (the seed's) plus a 30 s evaluation can take 5.5 min to detect, over the seed's MTTD
    goal of 5 min: the static check says so (below); the scenarios are graded with 4 m."""
    book = load_playbook(None)
    triggers = [
        t.model_copy(update={"for_": trigger_for}) if t.name == "error_rate_critical" else t
        for t in book.triggers
    ]
    return book.model_copy(update={"triggers": triggers})


def play(scenario: str, until: timedelta) -> Iterator[tuple[Run, Grade]]:
    rehearsal = Rehearsal(load_scenario(scenario), playbook_held("4m"), until=until)
    try:
        run = asyncio.run(rehearsal.run())
        yield run, grade(run)
    finally:
        rehearsal.close()


@pytest.fixture(scope="module")
def spike() -> Iterator[tuple[Run, Grade]]:
    yield from play("spike", timedelta(hours=4))


@pytest.fixture(scope="module")
def slow_signoff() -> Iterator[tuple[Run, Grade]]:
    yield from play("slow-signoff", timedelta(hours=4))


@pytest.fixture(scope="module")
def chaos() -> Iterator[tuple[Run, Grade]]:
    yield from play("chaos", timedelta(hours=6, minutes=15))  # past the Prometheus outage


def promise(result: Grade, starts: str) -> Promise:
    return next(p for p in result.promises if p.name.startswith(starts))


def test_spike_detects_rolls_back_once_and_recovers(spike: tuple[Run, Grade]) -> None:
    run, _ = spike
    with Session(run.services.engine) as session:
        requests = list(session.exec(select(RollbackRequest)))
        episodes = list(session.exec(select(TriggerEpisode)))
    assert len(requests) == 1 and requests[0].status == "done"
    breach = run.launch_at + timedelta(hours=3)  # the story's error_rate crosses 4 %
    trigger = next(t for t in run.playbook.triggers if t.name == "error_rate_critical")
    interval = timedelta(seconds=run.playbook.evaluation.interval_seconds)
    assert len(episodes) == 1 and episodes[0].alerted_at is not None
    assert episodes[0].alerted_at - breach <= parse_duration(trigger.for_) + interval
    recovered = requests[0].recovered_at
    assert recovered is not None and recovered - breach < timedelta(minutes=30)
    for flag in run.services.rollout.status().flags:
        assert flag.percent == 10 and list(flag.segments) == ["internal_beta"]
    assert any("clicked [Approve]" in line for line in run.timeline.transcript())


def test_spike_keeps_every_promise(spike: tuple[Run, Grade]) -> None:
    _, result = spike
    assert result.kept, [p for p in result.promises if not p.kept]
    (episode,) = result.episodes
    assert episode.mttd_minutes == 4.0  # the story breaches at 13:00, held 4 m
    assert episode.mttr_minutes is not None and episode.mttr_minutes < 30
    assert episode.requests == episode.rollbacks_run == [1]
    assert "goal < 5 min" in promise(result, "MTTD").detail
    assert "goal < 30 min" in promise(result, "MTTR").detail
    assert "each once, at its time" in promise(result, "Every scheduled post").detail
    assert "chain intact" in promise(result, "Decision log").detail
    # the bundled integrations are not configured: a person clears the caches
    assert any("Clear the cache of checkout-service" in line for line in result.by_hand)


def test_a_trigger_held_past_the_mttd_goal_fails_the_grade_and_says_why() -> None:
    for held, worst in (("5m", "5.5"), ("10m", "10.5")):
        broken = [p for p in static_promises(playbook_held(held)) if not p.kept]
        assert [p.name for p in broken] == ["`error_rate_critical` can detect within the MTTD goal"]
        assert f"up to {worst} min to detect; goal < 5 min" in broken[0].detail
        assert "Shorten its `for` to under 4.5 min" in broken[0].detail
    assert all(p.kept for p in static_promises(playbook_held("4m")))


def test_slow_signoff_expires_escalates_and_breaks_mttr(
    slow_signoff: tuple[Run, Grade],
) -> None:
    run, result = slow_signoff
    assert [p.name.split(",")[0] for p in result.broken] == ["MTTR"]
    assert "38 min" in promise(result, "MTTR").detail  # 13:00 breach → 13:38 recovered
    escalation = promise(result, "No missed reminder or escalation")
    assert escalation.kept
    assert "rollback #1 expired at Tue 13:34:00, on-call told at Tue 13:34:00" in escalation.detail
    assert promise(result, "One rollback").detail == "requests #1, #2; executed #2"
    with Session(run.services.engine) as session:
        statuses = [r.status for r in session.exec(select(RollbackRequest))]
    assert statuses == ["expired", "done"]
    said = "\n".join(run.timeline.transcript())
    assert "/rollback incident 2" in said and "clicked [Break glass: execute now]" in said


def test_an_escalation_nobody_saw_breaks_the_promise(slow_signoff: tuple[Run, Grade]) -> None:
    run, _ = slow_signoff
    kept = list(run.fake.messages)
    run.fake.messages[:] = [m for m in kept if "<@U0ONCL0001>" not in m.text]
    try:
        again = promise(grade(run), "No missed reminder or escalation")
    finally:
        run.fake.messages[:] = kept
    assert not again.kept and "rollback #1 expired" in again.detail
    assert "on-call never told" in again.detail


def test_chaos_loses_nothing_and_doubles_nothing(chaos: tuple[Run, Grade]) -> None:
    run, result = chaos
    assert result.kept, [p for p in result.promises if not p.kept]
    assert [kind for kind, *_ in run.faults] == ["slack_500", "prometheus_no_data"]
    assert len(run.fake.refused) > 0  # Slack did refuse the rollback's posts
    assert promise(result, "No feedback lost").detail == "4 filed, each in Slack"
    assert promise(result, "No post made twice").kept
    assert promise(result, "Runbook finished once").detail.endswith("each finished once")
    _, down_from, down_to = run.faults[0]
    with Session(run.services.engine) as session:
        filed = [utc(f.created_at) for f in session.exec(select(FeedbackItem))]
    during = [at for at in filed if down_from <= at < down_to]
    assert len(during) == 2  # filed while Slack answered 500, in Slack after
    assert "No data from Prometheus" in "\n".join(run.timeline.transcript())


def test_the_cli_grades_writes_the_reports_and_fails_on_a_broken_promise(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("WARROOM_PLAYBOOK", None)
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "rehearse", "spike", "--until", "3h20m"]
        + ["--report", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    # the bundled playbook: its 5 m trigger cannot keep the 5 min MTTD goal
    assert done.returncode == 1, done.stderr
    assert "FAIL `error_rate_critical` can detect within the MTTD goal" in done.stdout
    assert "promises kept — 2 BROKEN" in done.stdout
    report = json.loads((tmp_path / "grade.json").read_text())
    assert report["scenario"] == "spike" and report["kept"] is False
    broken = [p["name"] for p in report["promises"] if not p["kept"]]
    assert broken[0] == "`error_rate_critical` can detect within the MTTD goal"
    assert report["episodes"][0]["mttd_minutes"] == 5.0
    assert "| ❌ | `error_rate_critical` can detect" in (tmp_path / "grade.md").read_text()
    page = (tmp_path / "rehearsal.html").read_text()
    assert page.count("<svg") == 2  # the whole rehearsal and the episode
    assert "clicked [Approve]" in page and "<script" not in page


def test_the_cli_lists_the_shipped_scenarios_for_an_unknown_one() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "rehearse", "fire-drill"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 2
    assert "no scenario `fire-drill`" in done.stderr
    assert "calm, chaos, slow-signoff, spike" in done.stderr


def test_a_rehearsal_never_reaches_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAGERDUTY_ROUTING_KEY", "a-real-key")
    monkeypatch.setenv("UNLEASH_URL", "http://unleash.prod.invalid")
    monkeypatch.setenv("WARROOM_FLAGD_FILE", "/nonexistent/flagd.json")
    book = load_playbook(None)
    book = book.model_copy(
        update={
            "flag_provider": book.flag_provider.model_copy(update={"kind": "unleash"}),
            "integrations": book.integrations.model_copy(
                update={"banner_url": "https://cms.prod.invalid/banner"}
            ),
        }
    )
    rehearsal = Rehearsal(load_scenario("calm"), book)
    try:
        settings, played = rehearsal.services.settings, rehearsal.playbook
        assert settings.pagerduty_routing_key is None and settings.unleash_url is None
        assert settings.warroom_flagd_file is None
        assert played.flag_provider.kind == "embedded"
        assert played.integrations.banner_url is None
        assert "rehearsal: e2e stand-in" in played.rollback.verify.e2e_command
    finally:
        rehearsal.fake.stop()
        rehearsal.prometheus.stop()
        rehearsal.close()

"""`spike` played on the virtual clock against the real app, the loopback Slack and the
story-fed Prometheus stand-in: the trigger fires, one rollback runs, the flags go back."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import Session, select

from bot.playbook import load_playbook, parse_duration
from bot.rehearse.driver import Rehearsal
from bot.rehearse.scenario import load_scenario
from storage.models import RollbackRequest, TriggerEpisode


def test_spike_detects_rolls_back_once_and_recovers() -> None:
    scenario = load_scenario("spike")
    # the episode and its recovery are over by T+4h: no need to play on to the council
    rehearsal = Rehearsal(scenario, load_playbook(None), until=timedelta(hours=4))
    run = asyncio.run(rehearsal.run())
    try:
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
        status = run.services.rollout.status()
        for flag in status.flags:
            assert flag.percent == 10 and list(flag.segments) == ["internal_beta"]
        assert any("clicked [Approve]" in line for line in run.timeline.transcript())
    finally:
        rehearsal.close()

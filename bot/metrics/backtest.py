"""Replay the playbook's metric triggers over past data (`query_range`)."""

from __future__ import annotations

from datetime import datetime

from bot.metrics.prometheus import PrometheusReader
from bot.metrics.triggers import Machine, breaching, step
from bot.playbook import Playbook


def backtest(
    book: Playbook, reader: PrometheusReader, start: datetime, end: datetime, step_seconds: float
) -> list[tuple[datetime, str, str, float | None]]:
    events = []
    for trigger in book.triggers:
        if trigger.metric is None:
            continue
        machine = Machine()
        for at, value in reader.read_range(trigger.metric, start, end, step_seconds):
            machine, event = step(machine, trigger, at, breaching(trigger, value))
            if event:
                events.append((at, trigger.name, event, value))
    return sorted(events)

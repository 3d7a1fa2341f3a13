"""The trigger state machine, as Prometheus alerting rules behave: ok → pending (from the
first breaching sample) → firing once the condition has held through the whole `for`
window, consecutively (one good sample resets it) → resolved (back to ok).

Pure: the evaluator drives it from live readings, the backtest from past ones.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from bot.playbook import OPS, Trigger, parse_duration
from storage.status import TriggerStatus


@dataclass(frozen=True)
class Machine:
    state: str = TriggerStatus.OK
    pending_since: datetime | None = None


def breaching(trigger: Trigger, value: float) -> bool:
    return OPS[trigger.op or ">"](float(value), float(trigger.value or 0))


TriggerEvent = Literal["pending", "fired", "reset", "resolved"]


def step(
    machine: Machine, trigger: Trigger, at: datetime, is_breach: bool
) -> tuple[Machine, TriggerEvent | None]:
    """One evaluation; returns the new state and the event: pending | fired | reset | resolved."""
    window = parse_duration(trigger.for_)
    if is_breach:
        if machine.state == TriggerStatus.OK:
            machine = Machine(TriggerStatus.PENDING, at)
            event: TriggerEvent = "pending"
            if window <= timedelta(0):
                return replace(machine, state=TriggerStatus.FIRING), "fired"
            return machine, event
        if (
            machine.state == TriggerStatus.PENDING
            and machine.pending_since is not None
            and at - machine.pending_since >= window
        ):
            return replace(machine, state=TriggerStatus.FIRING), "fired"
        return machine, None
    if machine.state == TriggerStatus.PENDING:
        return Machine(), "reset"
    if machine.state == TriggerStatus.FIRING:
        return Machine(), "resolved"
    return machine, None

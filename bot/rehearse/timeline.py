"""What happened, on the virtual clock: every post, edit and click as Slack showed it
(rendered by the local workspace's renderer), and the metric curves for the chart."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.local.fake_slack import Message
from bot.playbook import Playbook
from bot.rehearse.personas import Action
from bot.rehearse.scenario import Scenario

CURVE_STEP = timedelta(minutes=5)


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str  # post | reply (in a thread) | edit | ephemeral | click
    channel: str
    who: str
    lines: list[str]


@dataclass
class Timeline:
    playbook: Playbook
    clock: Clock
    entries: list[Entry] = field(default_factory=list)
    curves: dict[str, list[tuple[datetime, float | None]]] = field(default_factory=dict)
    _shown: dict[str, int] = field(default_factory=dict)

    def changed(self, message: Message) -> bool:
        return self._shown.get(message.ts) != message.updated

    def seen(self, message: Message) -> bool:
        return message.ts in self._shown

    def post(self, message: Message, lines: list[str], at: datetime) -> None:
        edited = message.ts in self._shown
        self._shown[message.ts] = message.updated
        kind = "ephemeral" if message.ephemeral_to else ("edit" if edited else "post")
        if kind == "post" and message.thread_ts:
            kind = "reply"
        who = message.ephemeral_to or "warroom"
        shown = [html.unescape(line) for line in lines]  # Slack shows &gt; as >
        self.entries.append(Entry(at, kind, message.channel, who, shown))

    def click(self, action: Action, at: datetime) -> None:
        if action.feedback:
            line = action.feedback
            lines = [f"POST /api/feedback ({line.category or 'no category'}, {line.rating}/5)"]
            lines.append(line.text)
        elif action.command:
            lines = [action.command]
        else:
            label = action.button.label if action.button else "?"
            lines = [f"clicked [{label}]"]
        self.entries.append(Entry(at, "click", "", f"{action.user} ({action.role})", lines))

    def metrics(
        self, scenario: Scenario, launch_at: datetime, start: datetime, end: datetime
    ) -> None:
        for metric in scenario.story:
            points: list[tuple[datetime, float | None]] = []
            at = start
            while at <= end:
                points.append((at, scenario.value(metric, at - launch_at)))
                at += CURVE_STEP
            for turn in scenario.turning_points():  # the steps themselves, sharp
                instant = launch_at + turn
                if start <= instant <= end:
                    points.append(
                        (
                            instant - timedelta(seconds=1),
                            scenario.value(metric, turn - timedelta(seconds=1)),
                        )
                    )
                    points.append((instant, scenario.value(metric, turn)))
            self.curves[metric] = sorted(points, key=lambda p: p[0])

    def local(self, at: datetime) -> str:
        return at.astimezone(self.playbook.zone).strftime("%a %H:%M:%S")

    def transcript(self) -> list[str]:
        return self.render(self.entries)

    def render(self, entries: list[Entry]) -> list[str]:
        lines: list[str] = []
        for entry in sorted(entries, key=lambda e: e.at):
            head = {
                "post": f"[{entry.channel}] warroom",
                "edit": f"[{entry.channel}] warroom (edited)",
                "reply": f"[{entry.channel}] warroom, in the thread",
                "ephemeral": f"(only {entry.who} sees this)",
                "click": entry.who,
            }[entry.kind]
            lines.append(f"{self.local(entry.at)}  {head}")
            lines.extend("      " + line for line in entry.lines)
        return lines

"""Alertmanager's webhook (payload version 4) in domain terms: alerts labelled with the
playbook's trigger drive the same fire/resolve as the bot's own evaluator."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from bot.metrics.rules import TRIGGER_LABEL


class TriggerSink(Protocol):
    """What an alert can do to a trigger (the evaluator does both)."""

    def fire(
        self,
        name: str,
        source: str,
        breach_started_at: datetime,
        evidence: dict[str, Any],
        fingerprint: str = "",
    ) -> object | None: ...

    def resolve(self, name: str, value: float | None = None) -> object | None: ...


def handle_alerts(sink: TriggerSink, alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fire or resolve each alert's trigger; what was done, one entry per trigger alert."""
    handled: list[dict[str, Any]] = []
    for alert in alerts:
        labels = alert.get("labels") or {}
        trigger = labels.get(TRIGGER_LABEL)
        if not trigger:
            continue
        if alert.get("status") == "firing":
            started = datetime.fromisoformat(str(alert["startsAt"]).replace("Z", "+00:00"))
            evidence = {
                "alertname": labels.get("alertname", ""),
                "source": "alertmanager",
                "generatorURL": alert.get("generatorURL", ""),
                **(alert.get("annotations") or {}),
            }
            episode = sink.fire(
                trigger,
                "alertmanager",
                started,
                evidence,
                fingerprint=str(alert.get("fingerprint", "")),
            )
            handled.append({"trigger": trigger, "fired": episode is not None})
        elif alert.get("status") == "resolved":
            episode = sink.resolve(trigger)
            handled.append({"trigger": trigger, "resolved": episode is not None})
    return handled

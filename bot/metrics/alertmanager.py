"""Alertmanager's webhook (payload version 4) in domain terms: every rule `warroom rules`
writes is handled. Alerts labelled with the playbook's trigger drive the same fire/resolve
as the bot's own evaluator; warning alerts (labelled with their metric) the same warning
line. Alertmanager's `startsAt` is when the alert fired, after the rule's `for`: the breach
began that long before."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.metrics.rules import METRIC_LABEL, TRIGGER_LABEL


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

    def hold(self, name: str) -> timedelta:
        """How long the trigger's breach lasts before it fires (its rule's `for`)."""
        ...

    def warning_alert(self, metric: str, value: float | None, firing: bool) -> bool:
        """The metric's warning line crossed (firing) or recovered; True if it was news."""
        ...


def _at(text: object) -> datetime:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00"))


def _value(alert: dict[str, Any]) -> float | None:
    try:
        return float((alert.get("annotations") or {})["value"])
    except (KeyError, TypeError, ValueError):
        return None


def handle_alerts(sink: TriggerSink, alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fire or resolve each alert's trigger; what was done, one entry per trigger alert."""
    handled: list[dict[str, Any]] = []
    for alert in alerts:
        labels = alert.get("labels") or {}
        trigger, metric = labels.get(TRIGGER_LABEL), labels.get(METRIC_LABEL)
        if metric and not trigger and alert.get("status") in ("firing", "resolved"):
            firing = alert.get("status") == "firing"
            told = sink.warning_alert(metric, _value(alert), firing)
            handled.append({"warning": metric, "firing" if firing else "resolved": told})
        if not trigger:
            continue
        if alert.get("status") == "firing":
            started = _at(alert["startsAt"]) - sink.hold(trigger)
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

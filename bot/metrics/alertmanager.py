"""Alertmanager's webhook (payload version 4) in domain terms: every rule `warroom rules`
writes is handled. Alerts labelled with the playbook's trigger drive the same fire/resolve
as the bot's own evaluator; warning alerts (labelled with their metric) the same warning
line; an incident's alert (labelled with its id) at Sev2 or worse opens a critical rollback
request, once per incident. Alertmanager's `startsAt` is when the alert fired, after the
rule's `for`: the breach began that long before."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

import httpx
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from bot.metrics.prometheus import PrometheusReader
from bot.metrics.rules import INCIDENT_LABEL, METRIC_LABEL, TRIGGER_LABEL


class AmAlert(BaseModel):
    """One alert of the webhook: only what the bot reads is required."""

    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: AwareDatetime  # noqa: N815 - Alertmanager's field names
    endsAt: AwareDatetime | None = None  # noqa: N815
    generatorURL: str = ""  # noqa: N815
    fingerprint: str = ""


class AlertmanagerWebhook(BaseModel):
    """Alertmanager's webhook payload, version 4 (the group fields are not used)."""

    model_config = ConfigDict(extra="ignore")

    version: Literal["4"]
    status: Literal["firing", "resolved"] | None = None
    alerts: list[AmAlert] = Field(max_length=1000)


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

    def incident_alert(
        self,
        incident: str,
        severity: str,
        started: datetime,
        evidence: dict[str, Any],
        firing: bool,
    ) -> dict[str, Any]:
        """An incident's alert: firing at Sev2 or worse opens a critical rollback request
        (once per incident); resolved ends its episode. What was done, for the answer."""
        ...


def _value(alert: AmAlert) -> float | None:
    try:
        return float(alert.annotations["value"])
    except (KeyError, ValueError):
        return None


def handle_alerts(
    sink: TriggerSink,
    alerts: Sequence[AmAlert | dict[str, Any]],
    active_at: Callable[[AmAlert], datetime | None] = lambda _: None,
) -> list[dict[str, Any]]:
    """Fire or resolve each alert's trigger, post each warning, open each incident's
    rollback; what was done, one entry per alert the bot knows. The breach start is the
    alert's `activeAt` when Prometheus tells it (`active_at`), else `startsAt` less the
    rule's `for`."""
    handled: list[dict[str, Any]] = []
    for item in alerts:
        alert = item if isinstance(item, AmAlert) else AmAlert.model_validate(item)
        labels = alert.labels
        trigger, metric = labels.get(TRIGGER_LABEL), labels.get(METRIC_LABEL)
        incident = labels.get(INCIDENT_LABEL)
        if trigger:
            handled.append(_trigger_alert(sink, alert, trigger, active_at))
        elif metric:
            firing = alert.status == "firing"
            told = sink.warning_alert(metric, _value(alert), firing)
            handled.append({"warning": metric, "firing" if firing else "resolved": told})
        elif incident:
            evidence = {
                "incident": incident,
                "severity_label": labels.get("severity", ""),
                "alertname": labels.get("alertname", ""),
                "source": "alertmanager",
                "generatorURL": alert.generatorURL,
                **alert.annotations,
            }
            handled.append(
                sink.incident_alert(
                    incident,
                    labels.get("severity", ""),
                    alert.startsAt,
                    evidence,
                    alert.status == "firing",
                )
            )
    return handled


def _trigger_alert(
    sink: TriggerSink,
    alert: AmAlert,
    trigger: str,
    active_at: Callable[[AmAlert], datetime | None],
) -> dict[str, Any]:
    if alert.status != "firing":
        return {"trigger": trigger, "resolved": sink.resolve(trigger) is not None}
    active = active_at(alert)
    started = active or alert.startsAt - sink.hold(trigger)
    evidence = {
        "breach_start": "prometheus activeAt" if active else "startsAt less for",
        "alertname": alert.labels.get("alertname", ""),
        "source": "alertmanager",
        "generatorURL": alert.generatorURL,
        **alert.annotations,
    }
    episode = sink.fire(trigger, "alertmanager", started, evidence, fingerprint=alert.fingerprint)
    return {"trigger": trigger, "fired": episode is not None}


class PrometheusActiveAt:
    """When Prometheus saw the breach begin: the `activeAt` of the rule's alert in
    GET /api/v1/alerts (matched by its labels), asked of the Prometheus the bot reads
    (`reader_of()`). None when there is none, it does not answer or does not list the
    alert (then the breach start is `startsAt` less the rule's `for`)."""

    def __init__(self, reader_of: Callable[[], object]) -> None:
        self.reader_of = reader_of

    def __call__(self, alert: AmAlert) -> datetime | None:
        reader = self.reader_of()
        if not isinstance(reader, PrometheusReader):
            return None
        try:
            answer = reader.client.get(f"{reader.url}/api/v1/alerts", timeout=2.0)
            listed = answer.json()["data"]["alerts"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            return None
        for candidate in listed if isinstance(listed, list) else []:
            labels = candidate.get("labels") if isinstance(candidate, dict) else None
            if labels == alert.labels and candidate.get("activeAt"):
                try:
                    return datetime.fromisoformat(str(candidate["activeAt"]).replace("Z", "+00:00"))
                except ValueError:
                    return None
        return None

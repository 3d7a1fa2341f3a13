"""Prometheus alerting rules written from the playbook: the same expressions, thresholds and
`for` durations the bot evaluates, so the monitoring side and the bot agree."""

from __future__ import annotations

from typing import Any

import yaml

from bot.playbook import Playbook

TRIGGER_LABEL = "warroom_trigger"  # Alertmanager alerts are mapped back to triggers by it
METRIC_LABEL = "warroom_metric"  # and warning alerts back to the metric's warning line
# an incident's alert (from the incident tool, not from these rules): the incident's id, with
# its `severity` label (sev1…sev5, or a name the incident trigger's alert_severities maps)
INCIDENT_LABEL = "warroom_incident"


def rules(book: Playbook) -> dict[str, Any]:
    alerts = []
    for trigger in book.triggers:
        if trigger.metric is None:
            continue  # incident triggers come from the incident tracker, not from metrics
        query = book.metrics[trigger.metric].query
        alerts.append(
            {
                "alert": f"warroom_{trigger.name}",
                "expr": f"({query}) {trigger.op} {trigger.value:g}",
                "for": trigger.for_,
                "labels": {"severity": "critical", TRIGGER_LABEL: trigger.name},
                "annotations": {
                    "summary": f"{trigger.metric} {trigger.op} {trigger.value:g} "
                    f"for {trigger.for_}: rollback trigger"
                },
            }
        )
    for alert in book.alerts:
        op = ">" if alert.direction == "above" else "<"
        alerts.append(
            {
                "alert": f"warroom_{alert.metric}_warning",
                "expr": f"({book.metrics[alert.metric].query}) {op} {alert.warning:g}",
                "labels": {"severity": "warning", METRIC_LABEL: alert.metric},
                "annotations": {
                    "summary": f"{alert.metric} {op} {alert.warning:g} (warning)",
                    "value": "{{ $value }}",
                },
            }
        )
    return {"groups": [{"name": "warroom", "rules": alerts}]}


def rules_yaml(book: Playbook) -> str:
    return yaml.safe_dump(rules(book), sort_keys=False, width=1000)

"""PagerDuty Events API v2: `trigger` when a rollback trigger fires, `resolve` on recovery,
deduplicated per trigger and episode."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from bot.observability import log_event

log = logging.getLogger(__name__)
EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"


class PagerDuty:
    def __init__(self, routing_key: str, url: str = EVENTS_URL) -> None:
        self.routing_key = routing_key
        self.url = url

    def _send(self, event: dict[str, Any]) -> bool:
        try:
            response = httpx.post(
                self.url, json={"routing_key": self.routing_key, **event}, timeout=10
            )
        except httpx.HTTPError as exc:
            log_event(log, "pagerduty", logging.ERROR, outcome="failed", error=str(exc)[:200])
            return False
        if response.status_code != 202:
            log_event(
                log,
                "pagerduty",
                logging.ERROR,
                outcome="failed",
                status=response.status_code,
                error=response.text[:200],
            )
            return False
        return True

    def trigger(self, dedup_key: str, summary: str, details: dict[str, Any]) -> bool:
        return self._send(
            {
                "event_action": "trigger",
                "dedup_key": dedup_key,
                "payload": {
                    "summary": summary[:1024],
                    "source": "warroom",
                    "severity": "critical",
                    "custom_details": details,
                },
            }
        )

    def resolve(self, dedup_key: str) -> bool:
        return self._send({"event_action": "resolve", "dedup_key": dedup_key})

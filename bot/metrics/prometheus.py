"""A metrics reader over the Prometheus HTTP API (`/api/v1/query`, `/api/v1/query_range`).

Errors say which query failed and why; "no data" (an empty result) is not an error and is
returned as None, so the trigger evaluator can apply its no-data policy.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from bot.integrations import IntegrationError
from bot.integrations.metrics import Reading
from bot.playbook import Playbook

RETRIES = 3
TIMEOUT = httpx.Timeout(10.0, connect=3.0)


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    points: list[tuple[datetime, float]]


class PrometheusReader:
    name = "prometheus"

    def __init__(
        self,
        url: str,
        playbook: Playbook,
        token: str | None = None,
        retries: int = RETRIES,
        backoff: float = 0.5,
    ) -> None:
        self.url = url.rstrip("/")
        self.playbook = playbook
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.Client(timeout=TIMEOUT, headers=headers)  # keep-alive, thread-safe
        self.retries = retries
        self.backoff = backoff

    def promql(self, metric: str) -> str:
        spec = self.playbook.metrics.get(metric)
        if spec is None or spec.source != "prometheus":
            raise IntegrationError(f"{metric} is not a Prometheus metric in the playbook")
        return spec.query

    def _get(self, path: str, params: dict[str, Any], what: str) -> Any:
        last = ""
        for attempt in range(self.retries):
            try:
                response = self.client.get(f"{self.url}{path}", params=params)
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 500 and response.status_code != 429:
                    body = response.json() if response.content else {}
                    if response.status_code == 200 and body.get("status") == "success":
                        return body["data"]
                    raise IntegrationError(
                        f"query {what} failed: Prometheus answered {response.status_code}: "
                        f"{body.get('errorType', '')} {body.get('error', response.text[:200])}"
                    )
                last = f"Prometheus answered {response.status_code}"
            if attempt < self.retries - 1:
                time.sleep(self.backoff * 2**attempt)
        raise IntegrationError(f"query {what} failed after {self.retries} tries: {last}")

    def read(self, metric: str) -> Reading | None:
        """The current value of a playbook metric, or None when Prometheus has no data."""
        data = self._get("/api/v1/query", {"query": self.promql(metric)}, metric)
        result = data.get("result", [])
        if data.get("resultType") == "scalar":
            result = [{"value": result}]
        if not result:
            return None
        stamp, value = result[0]["value"]
        number = float(value)
        if number != number:  # NaN: e.g. 0/0 when there is no traffic
            return None
        return Reading(metric, number, datetime.fromtimestamp(float(stamp), tz=UTC))

    def read_range(
        self, metric: str, start: datetime, end: datetime, step_seconds: float
    ) -> list[tuple[datetime, float]]:
        data = self._get(
            "/api/v1/query_range",
            {
                "query": self.promql(metric),
                "start": start.timestamp(),
                "end": end.timestamp(),
                "step": step_seconds,
            },
            metric,
        )
        result = data.get("result", [])
        if not result:
            return []
        return [
            (datetime.fromtimestamp(float(t), tz=UTC), float(v))
            for t, v in result[0]["values"]
            if float(v) == float(v)
        ]

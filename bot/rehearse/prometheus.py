"""A Prometheus HTTP API stand-in fed from the scenario's metric stories.

It answers `/api/v1/query` and `/api/v1/query_range` on loopback exactly as Prometheus
shapes them, so the bot's PrometheusReader and the trigger evaluator run unchanged: each
playbook query (the PromQL text) is answered with its metric's story value at the query's
time (the virtual clock's now when no `time` is given). A story value of null, or a
`prometheus_no_data` fault, is an empty result: Prometheus's "no data".
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from bot.clock import Clock
from bot.playbook import Playbook
from bot.rehearse.scenario import Scenario


class StoryPrometheus:
    def __init__(
        self,
        scenario: Scenario,
        playbook: Playbook,
        clock: Clock,
        launch_at: datetime,
        no_data: Callable[[datetime], bool] = lambda _at: False,
    ) -> None:
        self.scenario = scenario
        self.clock = clock
        self.launch_at = launch_at
        self.no_data = no_data  # a fault: Prometheus answers, but with nothing
        self.by_query = {
            spec.query: name
            for name, spec in playbook.metrics.items()
            if spec.source == "prometheus"
        }
        self.queries = 0
        self._server: ThreadingHTTPServer | None = None

    def value(self, query: str, at: datetime) -> float | None:
        metric = self.by_query.get(query)
        if metric is None or self.no_data(at):
            return None
        return self.scenario.value(metric, at - self.launch_at)

    # ---- the HTTP API --------------------------------------------------------------------
    def answer(self, path: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.queries += 1
        query = params.get("query", "")
        if not query:
            return 400, {"status": "error", "errorType": "bad_data", "error": "no query"}
        if path == "/api/v1/query":
            at = _instant(params.get("time")) or self.clock.now()
            value = self.value(query, at)
            result = [] if value is None else [{"metric": {}, "value": _sample(at, value)}]
            return 200, _vector("vector", result)
        if path == "/api/v1/query_range":
            start, end = _instant(params.get("start")), _instant(params.get("end"))
            step = float(params.get("step") or 0)
            if start is None or end is None or step <= 0 or end < start:
                return 400, {"status": "error", "errorType": "bad_data", "error": "bad range"}
            values = []
            at = start
            while at <= end:
                value = self.value(query, at)
                if value is not None:
                    values.append(_sample(at, value))
                at += timedelta(seconds=step)
            result = [{"metric": {}, "values": values}] if values else []
            return 200, _vector("matrix", result)
        return 404, {"status": "error", "errorType": "not_found", "error": path}

    def start(self) -> StoryPrometheus:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                path, _, query = self.path.partition("?")
                self._reply(*stand_in.answer(path, _params(query)))

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                path, _, query = self.path.partition("?")
                self._reply(*stand_in.answer(path, {**_params(query), **_params(raw)}))

            def _reply(self, status: int, payload: dict[str, Any]) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"


def _params(raw: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(raw).items()}


def _instant(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromtimestamp(float(text), tz=UTC)
    except ValueError:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _sample(at: datetime, value: float) -> list[Any]:
    return [at.timestamp(), repr(float(value))]


def _vector(kind: str, result: list[dict[str, Any]]) -> dict[str, Any]:
    return {"status": "success", "data": {"resultType": kind, "result": result}}

"""One structured log line per event, and the bot's own Prometheus metrics."""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

# Anything that looks like a Slack token or a signing secret is masked before it is written.
_SECRET = re.compile(r"xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|v0=[0-9a-f]{16,}")


def redact(text: str) -> str:
    return _SECRET.sub("[redacted]", text)


class JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            exc = record.exc_info[1]
            line["error"] = (
                f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
            )
        return redact(json.dumps(line, default=str, ensure_ascii=False))


class _DropBoltClientTokenNotice(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and warns that it goes unused when the app is given
    a client (ours: our base URL, retry handlers and metrics). Expected here, so dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLineFormatter())
    handler.addFilter(_DropBoltClientTokenNotice())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # slack_sdk logs request bodies at DEBUG; keep it at INFO whatever the root level.
    logging.getLogger("slack_sdk").setLevel(logging.INFO)


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, **fields: Any) -> None:
    """Who did what, and how it ended: `log_event(log, "rollout.set", who=..., outcome=...)`."""
    logger.log(level, event, extra={"fields": fields})


class BotMetrics:
    """The bot's own metrics, on a registry of its own (tests build several apps)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "warroom_slack_requests", "Slack requests received", ["kind"], registry=self.registry
        )
        self.acks = Histogram(
            "warroom_slack_ack_seconds",
            "Time from request to ack",
            ["kind"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 3),
        )
        self.errors = Counter(
            "warroom_listener_errors", "Listener errors", ["kind"], registry=self.registry
        )
        self.slack_calls = Counter(
            "warroom_slack_api_calls", "Slack Web API calls", ["method"], registry=self.registry
        )
        self.slack_failures = Counter(
            "warroom_slack_api_failures",
            "Slack Web API calls that failed after retries",
            ["method"],
            registry=self.registry,
        )
        self.decisions = Counter(
            "warroom_decisions",
            "Decision log records appended",
            ["action", "outcome"],
            registry=self.registry,
        )

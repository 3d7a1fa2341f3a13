"""Triggers and alert thresholds as war-room posts (`bot.metrics.evaluator.TriggerNotifier`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.playbook import Alert, Playbook
from bot.slack_out.messages.schedule import owners_of
from bot.slack_out.outbox import Outbox


class SlackTriggerNotifier:
    def __init__(self, poster: Outbox, playbook: Playbook) -> None:
        self.poster = poster
        self.playbook = playbook
        self.channel = playbook.channels.war_room

    def _post(self, text: str) -> None:
        self.poster.post(self.channel, text, [])

    def _local(self, at: datetime) -> str:
        return at.astimezone(self.playbook.zone).strftime("%H:%M:%S")

    def query_failed(self, trigger: str, error: str) -> None:
        self._post(
            f":x: Cannot evaluate `{trigger}`: {error}. Its state is kept; check Prometheus."
        )

    def no_data(self, trigger: str, metric: str, since: datetime, policy: str) -> None:
        self._post(
            f":warning: No data from Prometheus for `{metric}` since {self._local(since)}: "
            f"trigger `{trigger}` cannot be evaluated ({policy} policy)."
        )

    def fired(
        self,
        trigger: str,
        source: str,
        summary: str,
        request_id: int,
        mttd: timedelta,
        owners_roles: Sequence[str],
    ) -> None:
        self._post(
            f":octagonal_sign: Trigger `{trigger}` firing ({source}): {summary}. "
            f"Rollback request #{request_id} opened. MTTD "
            f"{mttd.total_seconds() / 60:.1f} min. "
            f"{owners_of(self.playbook, list(owners_roles))}"
        )

    def resolved(self, trigger: str, value: float | None, at: datetime) -> None:
        shown = f" (now {value:g})" if value is not None else ""
        self._post(f":white_check_mark: Trigger `{trigger}` resolved{shown} at {self._local(at)}.")

    def warning(self, alert: Alert, value: float, at: datetime) -> None:
        self._post(
            f":warning: `{alert.metric}` is {value:g} (warning {alert.warning:g}, critical "
            f"{alert.critical:g}), as of {self._local(at)}."
        )

    def recovered(self, alert: Alert, value: float) -> None:
        self._post(
            f":white_check_mark: `{alert.metric}` back to {value:g} (warning {alert.warning:g})."
        )

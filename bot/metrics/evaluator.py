"""Evaluates the playbook's metric triggers and alert thresholds, and acts:
a warning post when a warning threshold is crossed (again only after recovery); a
rollback request through the rollback entry point when a critical trigger fires; a
resolved post on recovery; a "no data" warning after a gap. MTTD per episode.

The same `fire`/`resolve` serve Alertmanager's webhook: one episode per trigger at a time
(a unique key), so the two sources never open two rollbacks for one breach.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.clock import Clock
from bot.integrations import IntegrationError
from bot.integrations.metrics import MetricsReader, Reading
from bot.metrics import incidents
from bot.metrics.triggers import Machine, breaching, step
from bot.observability import log_event
from bot.playbook import Alert, Playbook, Trigger, parse_duration
from bot.rollback.service import RollbackService
from storage.db import session_scope
from storage.models import AlertState, TriggerEpisode, TriggerState

log = logging.getLogger(__name__)
# An episode's open_key while it fires (unique per trigger, so one open episode at a time);
# its own id once resolved.
OPEN_EPISODE = "open"


@dataclass(frozen=True)
class Outcome:
    trigger: str
    event: str | None
    value: float | None


class TriggerNotifier(Protocol):
    """Tells the war room what the triggers and alert thresholds do (failures are logged)."""

    def query_failed(self, trigger: str, error: str) -> None: ...

    def no_data(self, trigger: str, metric: str, since: datetime, policy: str) -> None: ...

    def fired(
        self,
        trigger: str,
        source: str,
        summary: str,
        request_id: int,
        mttd: timedelta,
        owners_roles: Sequence[str],
    ) -> None:
        """A critical trigger opened a rollback request; the owners are paged in the post."""
        ...

    def resolved(self, trigger: str, value: float | None, at: datetime) -> None: ...

    def warning(self, alert: Alert, value: float, at: datetime) -> None:
        """A warning threshold crossed (told once, until it recovers)."""
        ...

    def recovered(self, alert: Alert, value: float) -> None: ...


class Pager(Protocol):
    """An incident pager (PagerDuty's Events API): one incident per key."""

    def trigger(self, dedup_key: str, summary: str, details: dict[str, Any]) -> bool: ...

    def resolve(self, dedup_key: str) -> bool: ...


class TriggerEvaluator:
    def __init__(
        self,
        engine: Engine,
        playbook: Playbook,
        clock: Clock,
        reader: MetricsReader | None,
        rollback: RollbackService,
        notifier: TriggerNotifier,
        graph_url: str = "",
        pager: Pager | None = None,
    ) -> None:
        self.engine = engine
        self.playbook = playbook
        self.clock = clock
        self.reader = reader
        self.rollback = rollback
        self.notifier = notifier
        self.graph_url = graph_url.rstrip("/")
        self.pager = pager

    def local(self, at: datetime) -> str:
        return at.astimezone(self.playbook.zone).strftime("%H:%M:%S")

    # ---- one round -----------------------------------------------------------------------
    def evaluate(self) -> list[Outcome]:
        if self.reader is None:
            return []
        outcomes = []
        readings: dict[str, Reading | None] = {}
        for trigger in self.playbook.triggers:
            if trigger.metric is None:
                continue
            try:
                if trigger.metric not in readings:
                    readings[trigger.metric] = self.reader.read(trigger.metric)
            except IntegrationError as exc:
                log_event(
                    log,
                    "trigger.query",
                    logging.ERROR,
                    trigger=trigger.name,
                    outcome="error",
                    error=exc.message[:200],
                )
                row = self._load(trigger.name)
                if not row.error_reported:  # told once, until the query works again
                    row.error_reported = True
                    self._save(row)
                    self.notifier.query_failed(trigger.name, exc.message)
                outcomes.append(Outcome(trigger.name, "error", None))
                continue
            outcomes.append(self._evaluate(trigger, readings[trigger.metric]))
        self._warnings(readings)
        return outcomes

    def _load(self, name: str) -> TriggerState:
        with Session(self.engine) as session:
            return session.get(TriggerState, name) or TriggerState(name=name)

    def _evaluate(self, trigger: Trigger, reading: Reading | None) -> Outcome:
        now = self.clock.now()
        row = self._load(trigger.name)
        row.error_reported = False  # the query answered
        if reading is None:
            gap = now - (row.last_data_at or now)
            if (
                gap >= timedelta(minutes=self.playbook.evaluation.no_data_warning_minutes)
                and not row.nodata_warned
            ):
                row.nodata_warned = True
                self.notifier.no_data(
                    trigger.name, trigger.metric or "", row.last_data_at or now, trigger.no_data
                )
            if row.last_data_at is None:
                row.last_data_at = now  # the gap counts from the first round without data
            if trigger.no_data == "keep":
                self._save(row)
                return Outcome(trigger.name, None, None)
            is_breach, at, value = trigger.no_data == "breaching", now, None
        else:
            row.last_data_at, row.nodata_warned = now, False
            is_breach, at, value = breaching(trigger, reading.value), reading.at, reading.value
            row.last_value, row.last_sample_at = reading.value, reading.at
        machine, event = step(Machine(row.state, row.pending_since), trigger, at, is_breach)
        started = row.pending_since
        row.state, row.pending_since = machine.state, machine.pending_since
        self._save(row)
        if event == "fired":
            self.fire(
                trigger.name,
                "evaluator",
                machine.pending_since or started or at,
                {
                    "value": value,
                    "query": self.playbook.metrics[trigger.metric or ""].query,
                    "window": trigger.for_,
                    "as_of": at.isoformat(),
                },
            )
        elif event == "resolved":
            self.resolve(trigger.name, value)
        return Outcome(trigger.name, event, value)

    def _save(self, row: TriggerState) -> None:
        with session_scope(self.engine) as session:
            session.merge(row)

    # ---- acting (the evaluator and Alertmanager alike) -----------------------------------
    def fire(
        self,
        name: str,
        source: str,
        breach_started_at: datetime,
        evidence: dict[str, Any],
        fingerprint: str = "",
    ) -> TriggerEpisode | None:
        """Opens the trigger's episode (once, whichever source comes first), a critical
        rollback request for it, and tells the war room and the pager."""
        trigger = next((t for t in self.playbook.triggers if t.name == name), None)
        if trigger is None:
            log_event(log, "trigger.fire", logging.WARNING, trigger=name, outcome="unknown")
            return None
        if fingerprint and self._seen(name, fingerprint, breach_started_at):
            return None  # Alertmanager repeating an alert that an episode already covered
        episode_id = self._open_episode(name, source, breach_started_at, evidence, fingerprint)
        if episode_id is None:
            return None  # already firing: the other source got there first
        evidence = self._with_graph(trigger, evidence)
        what, shown = self._describe(trigger, evidence)
        summary = f"{what}{shown}"
        severity = evidence.get("incident_severity") if trigger.metric is None else None
        view = self.rollback.open_from_trigger(
            name,
            f"{what} for {trigger.for_}{shown}" if trigger.metric else f"{what}{shown}",
            evidence,
            critical=True,
            breach_started_at=breach_started_at,
            severity=severity if isinstance(severity, int) else None,
        )
        request_id = view.request.id or 0
        mttd = self.clock.now() - breach_started_at
        self.notifier.fired(
            name, source, summary, request_id, mttd, [self.playbook.schedule.oncall_role]
        )
        row = self._alerted(episode_id, request_id)
        if self.pager:
            self.pager.trigger(
                f"warroom:{name}:{row.id}",
                f"{name}: {summary}",
                {"rollback_request": request_id, **evidence},
            )
        log_event(
            log,
            "trigger.fire",
            trigger=name,
            source=source,
            request=request_id,
            mttd_s=round((self.clock.now() - breach_started_at).total_seconds(), 1),
        )
        return row

    def _open_episode(
        self,
        name: str,
        source: str,
        breach_started_at: datetime,
        evidence: dict[str, Any],
        fingerprint: str,
    ) -> int | None:
        """The new episode's id; None when one is open already (the unique key)."""
        try:
            with session_scope(self.engine) as session:
                episode = TriggerEpisode(
                    trigger=name,
                    open_key=OPEN_EPISODE,
                    source=source,
                    fingerprint=fingerprint,
                    breach_started_at=breach_started_at,
                    fired_at=self.clock.now(),
                    evidence=evidence,
                )
                session.add(episode)
                session.flush()
                return episode.id
        except IntegrityError:
            return None

    def _with_graph(self, trigger: Trigger, evidence: dict[str, Any]) -> dict[str, Any]:
        if not (self.graph_url and trigger.metric):
            return evidence
        query = self.playbook.metrics[trigger.metric].query
        return {**evidence, "graph": f"{self.graph_url}/graph?g0.expr={query}"}

    def _describe(self, trigger: Trigger, evidence: dict[str, Any]) -> tuple[str, str]:
        """What breached ("error_rate > 2"), and the value when there is one
        (" (now 5, as of 10:00:00)")."""
        if trigger.metric:
            what = f"{trigger.metric} {trigger.op} {trigger.value:g}"
        elif "incident" in evidence:  # an incident's alert names it and its severity
            what = f"Sev{evidence.get('incident_severity')} incident {evidence['incident']}"
        else:
            what = f"incident Sev{trigger.incident_severity_at_most} or worse"
        value = evidence.get("value")
        if not isinstance(value, float):
            return what, ""
        return what, f" (now {value:g}, as of {self.local(self.clock.now())})"

    def _alerted(self, episode_id: int, request_id: int) -> TriggerEpisode:
        with session_scope(self.engine) as session:
            row = session.get(TriggerEpisode, episode_id)
            assert row is not None
            row.alerted_at, row.request_id = self.clock.now(), request_id
            session.add(row)
        return row

    def _seen(self, name: str, fingerprint: str, started: datetime) -> bool:
        with Session(self.engine) as session:
            episodes = session.exec(
                select(TriggerEpisode).where(
                    TriggerEpisode.trigger == name, TriggerEpisode.fingerprint == fingerprint
                )
            )
            return any(e.breach_started_at == started for e in episodes)

    def resolve(self, name: str, value: float | None = None) -> TriggerEpisode | None:
        now = self.clock.now()
        with session_scope(self.engine) as session:
            episode = session.exec(
                select(TriggerEpisode).where(
                    TriggerEpisode.trigger == name, TriggerEpisode.open_key == OPEN_EPISODE
                )
            ).first()
            if episode is None:
                return None
            episode.resolved_at, episode.open_key = now, str(episode.id)
            session.add(episode)
        if self.pager:
            self.pager.resolve(f"warroom:{name}:{episode.id}")
        self.notifier.resolved(name, value, now)
        return episode

    def incident_alert(
        self,
        incident: str,
        severity: str,
        started: datetime,
        evidence: dict[str, Any],
        firing: bool,
    ) -> dict[str, Any]:
        """An incident's alert: a critical rollback request once per incident (incidents.py)."""
        return incidents.alert(self, incident, severity, started, evidence, firing)

    # ---- warning thresholds --------------------------------------------------------------
    def _warnings(self, readings: dict[str, Reading | None]) -> None:
        for alert in self.playbook.alerts:
            if alert.metric not in readings and self.reader is not None:
                try:
                    readings[alert.metric] = self.reader.read(alert.metric)
                except IntegrationError:
                    continue
            reading = readings.get(alert.metric)
            if reading is not None:
                self._warning(alert, reading)

    def hold(self, name: str) -> timedelta:
        trigger = next((t for t in self.playbook.triggers if t.name == name), None)
        return parse_duration(trigger.for_) if trigger else timedelta(0)

    def warning_alert(self, metric: str, value: float | None, firing: bool) -> bool:
        """Alertmanager's warning alert: the same warning line as the evaluator's, once."""
        alert = next((a for a in self.playbook.alerts if a.metric == metric), None)
        if alert is None:
            log_event(log, "alert.warning", logging.WARNING, metric=metric, outcome="unknown")
            return False
        shown = alert.warning if value is None else value
        return self._warning(alert, Reading(metric, shown, self.clock.now()), firing)

    def _warning(self, alert: Alert, reading: Reading, above: bool | None = None) -> bool:
        """Told once when the warning line is crossed, again only after it recovered."""
        if above is None:
            above = (
                reading.value > alert.warning
                if alert.direction == "above"
                else reading.value < alert.warning
            )
        with session_scope(self.engine) as session:
            row = session.get(AlertState, alert.metric) or AlertState(metric=alert.metric)
            crossed, recovered = above and row.warned_at is None, not above and bool(row.warned_at)
            if crossed or recovered:
                row.warned_at = self.clock.now() if crossed else None
                session.merge(row)
        if crossed:
            self.notifier.warning(alert, reading.value, reading.at)
        elif recovered:
            self.notifier.recovered(alert, reading.value)
        return crossed or recovered

    def mttd(self) -> list[tuple[str, float]]:
        with Session(self.engine) as session:
            episodes = list(session.exec(select(TriggerEpisode)))
        return [
            (e.trigger, (e.alerted_at - e.breach_started_at).total_seconds())
            for e in episodes
            if e.alerted_at
        ]

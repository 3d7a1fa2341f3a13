"""Evaluates the playbook's metric triggers and alert thresholds, and acts:
a warning post when a warning threshold is crossed (again only after recovery); a
rollback request through the rollback entry point when a critical trigger fires; a
resolved post on recovery; a "no data" warning after a gap. MTTD per episode.

The same `fire`/`resolve` serve Alertmanager's webhook: one episode per trigger at a time
(a unique key), so the two sources never open two rollbacks for one breach.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.clock import Clock
from bot.integrations import IntegrationError
from bot.integrations.metrics import MetricsReader, Reading
from bot.integrations.pagerduty import PagerDuty
from bot.metrics.triggers import Machine, breaching, step
from bot.observability import log_event
from bot.playbook import Playbook, Trigger
from bot.rollback.service import RollbackService
from bot.slack_out.messages.schedule import mention
from bot.slack_out.poster import Poster
from storage.db import session_scope
from storage.models import AlertState, TriggerEpisode, TriggerState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    trigger: str
    event: str | None
    value: float | None


class TriggerEvaluator:
    def __init__(
        self,
        engine: Engine,
        playbook: Playbook,
        clock: Clock,
        reader: MetricsReader | None,
        rollback: RollbackService,
        poster: Poster,
        graph_url: str = "",
    ) -> None:
        self.engine = engine
        self.playbook = playbook
        self.clock = clock
        self.reader = reader
        self.rollback = rollback
        self.poster = poster
        self.channel = playbook.channels.war_room
        self.graph_url = graph_url.rstrip("/")
        self.pager: PagerDuty | None = None

    def _post(self, text: str) -> None:
        self.poster.post(self.channel, text, [])

    def _oncall(self) -> str:
        return mention(self.playbook.roles.get("oncall", []))

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
                    self._post(
                        f":x: Cannot evaluate `{trigger.name}`: {exc.message}. Its state is "
                        "kept; check Prometheus."
                    )
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
                self._post(
                    f":warning: No data from Prometheus for `{trigger.metric}` since "
                    f"{self.local(row.last_data_at or now)}: trigger `{trigger.name}` "
                    f"cannot be evaluated ({trigger.no_data} policy)."
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
        evidence: dict,
        fingerprint: str = "",
    ) -> TriggerEpisode | None:
        trigger = next((t for t in self.playbook.triggers if t.name == name), None)
        if trigger is None:
            log_event(log, "trigger.fire", logging.WARNING, trigger=name, outcome="unknown")
            return None
        now = self.clock.now()
        if fingerprint and self._seen(name, fingerprint, breach_started_at):
            return None  # Alertmanager repeating an alert that an episode already covered
        try:
            with session_scope(self.engine) as session:
                episode = TriggerEpisode(
                    trigger=name,
                    open_key="open",
                    source=source,
                    fingerprint=fingerprint,
                    breach_started_at=breach_started_at,
                    fired_at=now,
                    evidence=evidence,
                )
                session.add(episode)
                session.flush()
        except IntegrityError:
            return None  # already firing: the other source got there first
        if self.graph_url and trigger.metric:
            evidence = {
                **evidence,
                "graph": f"{self.graph_url}/graph?g0.expr="
                + self.playbook.metrics[trigger.metric].query,
            }
        what = (
            f"{trigger.metric} {trigger.op} {trigger.value:g}"
            if trigger.metric
            else f"incident Sev{trigger.incident_severity_at_most} or worse"
        )
        value = evidence.get("value")
        shown = f" (now {value:g}, as of {self.local(now)})" if isinstance(value, float) else ""
        view = self.rollback.open_from_trigger(
            name,
            f"{what} for {trigger.for_}{shown}",
            evidence,
            critical=True,
            breach_started_at=breach_started_at,
        )
        self._post(
            f":octagonal_sign: Trigger `{name}` firing ({source}): {what}{shown}. "
            f"Rollback request #{view.request.id} opened. MTTD "
            f"{(self.clock.now() - breach_started_at).total_seconds() / 60:.1f} min. "
            f"{self._oncall()}"
        )
        with session_scope(self.engine) as session:
            row = session.get(TriggerEpisode, episode.id)
            assert row is not None
            row.alerted_at, row.request_id = self.clock.now(), view.request.id
            session.add(row)
        if self.pager:
            self.pager.trigger(
                f"warroom:{name}:{row.id}",
                f"{name}: {what}{shown}",
                {"rollback_request": view.request.id, **evidence},
            )
        log_event(
            log,
            "trigger.fire",
            trigger=name,
            source=source,
            request=view.request.id,
            mttd_s=round((self.clock.now() - breach_started_at).total_seconds(), 1),
        )
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
                    TriggerEpisode.trigger == name, TriggerEpisode.open_key == "open"
                )
            ).first()
            if episode is None:
                return None
            episode.resolved_at, episode.open_key = now, str(episode.id)
            session.add(episode)
        if self.pager:
            self.pager.resolve(f"warroom:{name}:{episode.id}")
        shown = f" (now {value:g})" if value is not None else ""
        self._post(f":white_check_mark: Trigger `{name}` resolved{shown} at {self.local(now)}.")
        return episode

    # ---- warning thresholds --------------------------------------------------------------
    def _warnings(self, readings: dict[str, Reading | None]) -> None:
        for alert in self.playbook.alerts:
            if alert.metric not in readings:
                try:
                    readings[alert.metric] = self.reader.read(alert.metric)  # type: ignore[union-attr]
                except IntegrationError:
                    continue
            reading = readings[alert.metric]
            if reading is None:
                continue
            above = (
                reading.value > alert.warning
                if alert.direction == "above"
                else reading.value < alert.warning
            )
            with session_scope(self.engine) as session:
                row = session.get(AlertState, alert.metric) or AlertState(metric=alert.metric)
                if above and row.warned_at is None:
                    row.warned_at = self.clock.now()
                    session.merge(row)
                    post = (
                        f":warning: `{alert.metric}` is {reading.value:g} (warning "
                        f"{alert.warning:g}, critical {alert.critical:g}), as of "
                        f"{self.local(reading.at)}."
                    )
                elif not above and row.warned_at is not None:
                    row.warned_at = None
                    session.merge(row)
                    post = (
                        f":white_check_mark: `{alert.metric}` back to {reading.value:g} "
                        f"(warning {alert.warning:g})."
                    )
                else:
                    post = ""
            if post:
                self._post(post)

    def mttd(self) -> list[tuple[str, float]]:
        with Session(self.engine) as session:
            episodes = list(session.exec(select(TriggerEpisode)))
        return [
            (e.trigger, (e.alerted_at - e.breach_started_at).total_seconds())
            for e in episodes
            if e.alerted_at
        ]

"""An incident declared in the incident tool and sent through Alertmanager: its `severity`
label read as a Sev (`sev1`…`sev5`, or a name the playbook's incident trigger maps, such
as `critical`), and the episode that keeps it to one rollback request per incident."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.playbook import Playbook, Trigger
from storage.models import TriggerEpisode

SEV = re.compile(r"sev\s*([1-5])")
INCIDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:#/-]{0,63}")  # INC-42, PD:Q1W2E3…


class Episodes(Protocol):
    """What opens and ends a trigger's episode (the trigger evaluator)."""

    engine: Engine
    playbook: Playbook

    def fire(
        self,
        name: str,
        source: str,
        breach_started_at: datetime,
        evidence: dict[str, Any],
        fingerprint: str = "",
    ) -> TriggerEpisode | None: ...

    def resolve(self, name: str, value: float | None = None) -> TriggerEpisode | None: ...


def incident_trigger(book: Playbook) -> Trigger | None:
    """The playbook's trigger that fires on an incident's severity."""
    return next((t for t in book.triggers if t.incident_severity_at_most), None)


def severity_of(label: str, book: Playbook) -> int | None:
    """`sev2` → 2; a name the incident trigger maps (`critical` → 1); else None."""
    text = label.strip().lower()
    trigger = incident_trigger(book)
    if trigger and text in trigger.alert_severities:
        return trigger.alert_severities[text]
    match = SEV.fullmatch(text)
    return int(match.group(1)) if match else None


def fingerprint(incident: str) -> str:
    """The episode's fingerprint for an incident (one episode per incident, ever), within
    the column's 64 characters."""
    key = f"incident:{incident}"
    return (
        key if len(key) <= 64 else "incident:" + hashlib.sha256(incident.encode()).hexdigest()[:40]
    )


def seen(engine: Engine, incident: str) -> bool:
    """True once an episode was opened for this incident (open or resolved)."""
    with Session(engine) as session:
        return (
            session.exec(
                select(TriggerEpisode.id).where(
                    col(TriggerEpisode.fingerprint) == fingerprint(incident)
                )
            ).first()
            is not None
        )


def open_for(engine: Engine, trigger: str, incident: str) -> bool:
    """True while this incident's episode is the trigger's open one."""
    with Session(engine) as session:
        episode = session.exec(
            select(TriggerEpisode).where(
                TriggerEpisode.trigger == trigger, TriggerEpisode.open_key == "open"
            )
        ).first()
    return episode is not None and episode.fingerprint == fingerprint(incident)


def alert(
    episodes: Episodes,
    incident: str,
    severity: str,
    started: datetime,
    evidence: dict[str, Any],
    firing: bool,
) -> dict[str, Any]:
    """An incident's alert: Sev2 or worse, as the playbook's incident trigger says, opens a
    critical rollback request with the evidence, once per incident (a repeat, or the same
    incident again later, opens nothing); resolved, it ends that incident's episode. What
    was done, for the webhook's answer."""
    if not INCIDENT_ID.fullmatch(incident):
        return {"incident": None, "ignored": "the incident id is 1-64 letters, digits, ._:#/-"}
    book, engine = episodes.playbook, episodes.engine
    trigger, sev = incident_trigger(book), severity_of(severity, book)
    done: dict[str, Any] = {"incident": incident, "severity": sev}
    if trigger is None or sev is None or sev > (trigger.incident_severity_at_most or 0):
        return {**done, "ignored": f"severity {severity[:20]!r} is not a rollback trigger"}
    if not firing:
        ours = open_for(engine, trigger.name, incident)
        return {**done, "resolved": ours and episodes.resolve(trigger.name) is not None}
    if seen(engine, incident):
        return {**done, "opened": False}
    episode = episodes.fire(
        trigger.name,
        "alertmanager",
        started,
        {**evidence, "incident_severity": sev},
        fingerprint(incident),
    )
    opened = episode is not None
    return {**done, "opened": opened, "request": episode.request_id if episode else None}

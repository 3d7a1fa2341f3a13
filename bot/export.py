"""`warroom export`: the records as CSV or JSON (reports and the lessons document also as
Markdown), streamed row by row so a table of a million feedback items exports in constant
memory."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.phase2 import build_document, current_lessons, markdown
from bot.playbook import Playbook
from storage.models import (
    ChecklistState,
    DecisionRecord,
    FeedbackItem,
    Report,
    ScheduledRun,
    Ticket,
)

Row = dict[str, Any]
BATCH = 2000


def _iso(at: datetime | None, zone: ZoneInfo) -> str:
    return at.astimezone(zone).isoformat() if at else ""


def _stream(engine: Engine, query: Any, since_column: Any, since: datetime | None) -> Iterator[Any]:
    """The query's rows from `since` on, fetched in batches (constant memory)."""
    if since:
        query = query.where(since_column >= since)
    with Session(engine) as session:
        yield from session.exec(query.execution_options(yield_per=BATCH))


def feedback_rows(engine: Engine, zone: ZoneInfo, since: datetime | None) -> Iterator[Row]:
    query = select(FeedbackItem).order_by(col(FeedbackItem.id))
    for r in _stream(engine, query, FeedbackItem.created_at, since):
        yield {
            "id": r.id,
            "created_at": _iso(r.created_at, zone),
            "source": r.source,
            "user_id": r.user_id,
            "flag": r.flag,
            "rating": r.rating,
            "category": r.category,
            "route": r.route,
            "classified_by": r.classified_by,
            "text": r.text,
            "link": r.link,
            "routed_to": r.channel,
            "routed_at": _iso(r.routed_at, zone),
        }


def decision_rows(engine: Engine, zone: ZoneInfo, since: datetime | None) -> Iterator[Row]:
    query = select(DecisionRecord).order_by(col(DecisionRecord.seq))
    for r in _stream(engine, query, DecisionRecord.at, since):
        yield {
            "seq": r.seq,
            "at": _iso(r.at, zone),
            "actor": r.actor,
            "action": r.action,
            "subject": r.subject,
            "before": r.before,
            "after": r.after,
            "reason": r.reason,
            "evidence": r.evidence,
            "outcome": r.outcome,
            "prev_hash": r.prev_hash,
            "hash": r.hash,
        }


def checklist_rows(engine: Engine, zone: ZoneInfo, since: datetime | None) -> Iterator[Row]:
    query = (
        select(ScheduledRun, ChecklistState)
        .join(ChecklistState, col(ChecklistState.run_id) == col(ScheduledRun.id))
        .order_by(col(ScheduledRun.fire_at))
    )
    for run, state in _stream(engine, query, ScheduledRun.fire_at, since):
        yield {
            "run_id": run.id,
            "shift": state.shift,
            "posted_for": _iso(run.fire_at, zone),
            "status": run.status,
            "items": len(state.items),
            "ticked": [state.items[i] for i in state.ticked if i < len(state.items)],
            "acknowledged_by": state.acknowledged_by,
            "acknowledged_at": _iso(state.acknowledged_at, zone),
            "reminded_at": _iso(state.reminded_at, zone),
            "escalated_at": _iso(state.escalated_at, zone),
            "completed_at": _iso(state.completed_at, zone),
        }


def ticket_rows(engine: Engine, zone: ZoneInfo, since: datetime | None) -> Iterator[Row]:
    query = select(Ticket).order_by(col(Ticket.created_at))
    for t in _stream(engine, query, Ticket.created_at, since):
        yield {
            "ticket": t.external_id,
            "subject": t.subject,
            "flag": t.flag,
            "created_at": _iso(t.created_at, zone),
            "answered_at": _iso(t.answered_at, zone),
            "solved_at": _iso(t.solved_at, zone),
            "sla_flagged_at": _iso(t.sla_flagged_at, zone),
            "link": t.link,
        }


def _reports(engine: Engine, since: datetime | None) -> Iterator[Report]:
    return _stream(
        engine, select(Report).order_by(col(Report.created_at)), Report.created_at, since
    )


def report_rows(engine: Engine, zone: ZoneInfo, since: datetime | None) -> Iterator[Row]:
    for r in _reports(engine, since):
        yield {
            "id": r.id,
            "kind": r.kind,
            "period": r.period,
            "created_at": _iso(r.created_at, zone),
            "proposal": r.proposal,
            "figures": r.figures,
            "markdown": r.markdown,
        }


def lesson_rows(engine: Engine, zone: ZoneInfo, since: datetime | None) -> Iterator[Row]:
    for lesson in current_lessons(engine, since):
        yield {
            "id": f"L{lesson.id}",
            "heading": lesson.heading,
            "created_at": _iso(lesson.created_at, zone),
            "author": lesson.author,
            "added_by": lesson.added_by,
            "text": lesson.text,
            "link": lesson.link,
        }


KINDS: dict[str, Callable[[Engine, ZoneInfo, datetime | None], Iterator[Row]]] = {
    "feedback": feedback_rows,
    "decisions": decision_rows,
    "checklists": checklist_rows,
    "tickets": ticket_rows,
    "reports": report_rows,
    "lessons": lesson_rows,
}
MARKDOWN = ("reports", "lessons")


def _cell(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value


def write(
    kind: str, fmt: str, engine: Engine, book: Playbook, since: datetime | None, out: TextIO
) -> int:
    """Writes the rows; returns how many. `md` is for reports (their Markdown, in order) and
    for lessons (the lessons-learned document, grouped under the playbook's headings)."""
    if fmt == "md":
        return _markdown(kind, engine, book, since, out)
    rows = KINDS[kind](engine, book.zone, since)
    count = 0
    if fmt == "json":
        out.write("[")
        for row in rows:
            out.write(("\n" if count == 0 else ",\n") + json.dumps(row, ensure_ascii=False))
            count += 1
        out.write("\n]\n" if count else "]\n")
        return count
    writer: csv.DictWriter[str] | None = None
    for row in rows:
        if writer is None:
            writer = csv.DictWriter(out, fieldnames=list(row))
            writer.writeheader()
        writer.writerow({k: _cell(v) for k, v in row.items()})
        count += 1
    return count


def _markdown(
    kind: str, engine: Engine, book: Playbook, since: datetime | None, out: TextIO
) -> int:
    if kind == "lessons":
        doc = build_document(engine, book, since)
        out.write(markdown(doc, book.zone))
        return doc.count
    if kind != "reports":
        raise ValueError("--format md is for `reports` and `lessons` only; use csv or json")
    count = 0
    for report in _reports(engine, since):
        out.write(("\n---\n\n" if count else "") + report.markdown)
        count += 1
    return count

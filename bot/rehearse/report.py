"""The rehearsal's reports: grade.md for people, grade.json for a pipeline, and
rehearsal.html, one self-contained page with the grade, the timeline chart (inline SVG)
and the transcript as Slack would have shown it."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from bot.rehearse.chart import Marks, chart_svg
from storage.models import DecisionRecord, RollbackApproval, TriggerEpisode

if TYPE_CHECKING:
    from bot.rehearse.driver import Run
    from bot.rehearse.grade import Episode, Grade

ZOOM_BEFORE, ZOOM_AFTER = timedelta(minutes=15), timedelta(minutes=30)
MAX_ZOOMS = 3


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def marks_of(run: Run) -> Marks:
    with Session(run.services.engine) as session:
        decisions = list(session.exec(select(DecisionRecord).order_by(col(DecisionRecord.seq))))
        approvals = list(session.exec(select(RollbackApproval)))
        episodes = list(session.exec(select(TriggerEpisode)))
    entries = run.timeline.entries
    return Marks(
        curves=run.timeline.curves,
        posts=[e.at for e in entries if e.kind in ("post", "reply")],
        clicks=[e.at for e in entries if e.kind == "click"],
        decisions=[(_utc(d.at), d.action) for d in decisions],
        sign_offs=[(_utc(a.at), f"{a.role} {a.decision}") for a in approvals],
        triggers=[
            (
                e.trigger,
                _utc(e.breach_started_at),
                _utc(e.fired_at),
                _utc(e.resolved_at) if e.resolved_at else None,
            )
            for e in episodes
        ],
        faults=run.faults,
        launch=run.launch_at,
    )


def _played(run: Run) -> dict[str, str]:
    return {
        "launch": run.launch_at.isoformat(),
        "start": run.start.isoformat(),
        "end": run.end.isoformat(),
    }


def grade_json(run: Run, grade: Grade) -> dict[str, Any]:
    return {
        **grade.as_json(),
        "played": _played(run),
        "faults": [
            {"kind": kind, "from": start.isoformat(), "to": end.isoformat()}
            for kind, start, end in run.faults
        ],
        "human_actions": len(run.human),
        "failed_clicks": run.failed_clicks,
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _minutes(value: float | None) -> str:
    return "—" if value is None else f"{value:g} min"


def _episode_row(run: Run, e: Episode) -> list[str]:
    local = run.timeline.local
    return [
        f"`{e.trigger}`",
        local(e.breach),
        local(e.alerted) if e.alerted else "never",
        local(e.recovered) if e.recovered else "never",
        _minutes(e.mttd_minutes),
        _minutes(e.mttr_minutes),
        ", ".join(f"#{i}" for i in e.requests) or "none",
        ", ".join(f"#{i}" for i in e.rollbacks_run) or "none",
    ]


EPISODE_HEAD = ["trigger", "breach", "alert", "recovered", "MTTD", "MTTR", "requests", "executed"]


def grade_markdown(run: Run, grade: Grade) -> str:
    verdict = "all promises kept" if grade.kept else f"{len(grade.broken)} promise(s) broken"
    local = run.timeline.local
    lines = [
        f"# Rehearsal `{grade.scenario}`: {verdict}",
        "",
        f"Playbook: {grade.playbook}. {run.scenario.description}",
        f"T = {local(run.launch_at)}; played {local(run.start)} → {local(run.end)} "
        f"({run.playbook.timezone}), on a virtual clock.",
        "",
        "| | Promise | Detail |",
        "|---|---|---|",
        *(
            f"| {'✅' if p.kept else '❌'} | {_cell(p.name)} | {_cell(p.detail)} |"
            for p in grade.promises
        ),
    ]
    if grade.episodes:
        lines += ["", "## Episodes", "", "| " + " | ".join(EPISODE_HEAD) + " |"]
        lines.append("|" + "---|" * len(EPISODE_HEAD))
        lines += ["| " + " | ".join(_episode_row(run, e)) + " |" for e in grade.episodes]
    if run.faults:
        lines += ["", "## Faults", ""]
        lines += [f"- {kind}: {local(a)} → {local(b)}" for kind, a, b in run.faults]
    if grade.by_hand:
        lines += ["", "## By hand", ""] + [f"- {_cell(line)}" for line in grade.by_hand]
    return "\n".join(lines) + "\n"


STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
td, th { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
tr.broken td { background: #fdecea; }
pre { background: #f6f8fa; padding: 1em; overflow-x: auto; font-size: 12px; }
svg { max-width: 100%; height: auto; }
"""


def _table(head: list[str], rows: list[list[str]], classes: list[str] | None = None) -> str:
    out = ["<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"]
    for i, row in enumerate(rows):
        cls = f' class="{classes[i]}"' if classes and classes[i] else ""
        out.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
    return "\n".join(out) + "</table>"


def _charts(run: Run, grade: Grade) -> list[str]:
    marks = marks_of(run)
    charts = [chart_svg(marks, run.playbook, (run.start, run.end), "The whole rehearsal")]
    for e in grade.episodes[:MAX_ZOOMS]:
        end = (e.recovered or e.alerted or e.breach) + ZOOM_AFTER
        span = (max(run.start, e.breach - ZOOM_BEFORE), min(run.end, end))
        title = f"`{e.trigger}` from {run.timeline.local(e.breach)}"
        charts.append(chart_svg(marks, run.playbook, span, title))
    return charts


def rehearsal_html(run: Run, grade: Grade) -> str:
    verdict = "all promises kept" if grade.kept else f"{len(grade.broken)} promise(s) broken"
    promises = _table(
        ["", "promise", "detail"],
        [["✅" if p.kept else "❌", p.name, p.detail] for p in grade.promises],
        ["" if p.kept else "broken" for p in grade.promises],
    )
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Rehearsal {html.escape(grade.scenario)}</title><style>{STYLE}</style></head><body>",
        f"<h1>Rehearsal <code>{html.escape(grade.scenario)}</code>: {verdict}</h1>",
        f"<p>Playbook: {html.escape(grade.playbook)}. {html.escape(run.scenario.description)}"
        f"<br>T = {html.escape(run.timeline.local(run.launch_at))} ({run.playbook.timezone})</p>",
        "<h2>Grade</h2>",
        promises,
    ]
    if grade.episodes:
        rows = [_episode_row(run, e) for e in grade.episodes]
        parts += ["<h2>Episodes</h2>", _table(EPISODE_HEAD, rows)]
    if grade.by_hand:
        items = "".join(f"<li>{html.escape(line)}</li>" for line in grade.by_hand)
        parts += ["<h2>By hand</h2>", f"<ul>{items}</ul>"]
    parts += ["<h2>Timeline</h2>", *_charts(run, grade)]
    transcript = html.escape("\n".join(run.timeline.transcript()))
    parts += ["<h2>Transcript</h2>", f"<pre>{transcript}</pre>", "</body></html>"]
    return "\n".join(parts)


def write_reports(run: Run, grade: Grade, folder: Path) -> list[Path]:
    """grade.md, grade.json and rehearsal.html in `folder` (made if missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "grade.md": grade_markdown(run, grade),
        "grade.json": json.dumps(grade_json(run, grade), indent=2, ensure_ascii=False) + "\n",
        "rehearsal.html": rehearsal_html(run, grade),
    }
    written = []
    for name, text in files.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written

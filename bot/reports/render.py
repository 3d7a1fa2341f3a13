"""A report as Markdown (stored, exported), and the lines the Slack post shares with it
(`bot/slack_out/messages/report.py`): numbers always come with their mark (✅ ⚠️ 🛑 ❔),
never colour alone."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.phase2 import matrix_lines, risk_line
from bot.reports.figures import Figures, KpiFigure

PROPOSAL_TEXT = {
    "advance": "Advance to the next stage ({percent} %)",
    "hold": "Hold at the current stage",
    "rollback": "Roll back",
}


def proposal_title(kind: str, advance_percent: int) -> str:
    """The proposal as people read it; "advance" names the council's next percentage."""
    return PROPOSAL_TEXT[kind].format(percent=advance_percent)


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    return f"{value:.4g} %" if unit == "%" else f"{value:.4g} {unit}"


def kpi_line(k: KpiFigure) -> str:
    goal = _number(k.goal, k.unit)
    detail = f" ({k.detail})" if k.detail else ""
    return f"{k.mark} {k.metric}: {_number(k.value, k.unit)} — goal {k.op} {goal}{detail}"


def feedback_lines(f: Figures) -> list[str]:
    fb = f.feedback
    average = f"{fb.average:.2f}/5" if fb.average is not None else "n/a"
    stars = " · ".join(f"{r}★ {n}" for r, n in fb.distribution.items())
    sources = ", ".join(f"{k} {v}" for k, v in sorted(fb.by_source.items())) or "none"
    categories = ", ".join(f"{k} {v}" for k, v in sorted(fb.by_category.items())) or "none"
    lines = [
        f"{fb.count} items; average rating {average} over {fb.rated} ratings",
        f"ratings: {stars}",
        f"by source: {sources}",
        f"by category: {categories}",
        f"critical: {fb.critical_count}",
    ]
    lines += [
        f"  #{c['id']} ({c['source']}): {c['text'][:120]}"
        + (f" <{c['link']}>" if c["link"] else "")
        for c in fb.critical
    ]
    return lines


def ticket_line(f: Figures, goal: float | None) -> str:
    mark = "❔" if goal is None else ("✅" if f.tickets_per_day <= goal else "⚠️")
    goal_text = f" — goal <= {goal:g}/day" if goal is not None else ""
    return (
        f"{mark} tickets: {f.tickets_created} created ({f.tickets_per_day:g}/day){goal_text}; "
        f"{f.tickets_unanswered} unanswered, {f.tickets_past_sla} past the support SLA"
    )


def decision_lines(f: Figures) -> list[str]:
    if not f.decisions:
        return ["no decisions recorded"]
    return [
        f"{d['at']} {d['action']} {d['subject']} by {d['actor']} — {d['outcome']}"
        + (f": {d['reason']}" if d["reason"] else "")
        for d in f.decisions
    ]


def risk_lines(f: Figures) -> list[str]:
    """The register's risks, most severe first (the matrix shows where the open ones sit)."""
    return [risk_line(r) for r in f.risks] or ["no risks in the register"]


def _local(iso: str, zone: ZoneInfo) -> str:
    return datetime.fromisoformat(iso).astimezone(zone).strftime("%a %H:%M") if iso else "—"


def communication_lines(f: Figures, zone: ZoneInfo) -> list[str]:
    return communications_text(f.communications, zone)


def communications_text(communications: list[dict[str, Any]], zone: ZoneInfo) -> list[str]:
    """Each launch communication: ✅ sent (by whom, when, the link) · ⏸ paused by a
    rollback · ⏰ past its time and not marked sent · 🕒 still to come."""
    lines = []
    for c in communications:
        head = f"{c['title']} ({c['channel']}, owner {c['owner']}, due {_local(c['due'], zone)})"
        if c["status"] == "sent":
            lines.append(
                f"✅ {head}: sent, marked by {c['sent_by']} at {_local(c['sent_at'], zone)} "
                f"<{c['link']}>"
            )
        elif c["status"] == "paused":
            lines.append(f"⏸ {head}: paused by {c['paused_by'].replace('#', ' #')}")
        elif c["overdue"]:
            lines.append(f"⏰ {head}: not marked sent")
        else:
            lines.append(f"🕒 {head}: scheduled")
    return lines or ["no communications planned"]


def ticket_goal(f: Figures) -> float | None:
    return next((k.goal for k in f.kpis if k.metric == "support_tickets"), None)


def period(f: Figures, zone: ZoneInfo) -> str:
    start, end = f.start.astimezone(zone), f.end.astimezone(zone)
    return f"{start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} {end:%Z}"


def markdown(f: Figures, zone: ZoneInfo, proposal: tuple[str, list[str]] | None = None) -> str:
    """`proposal`: its title (proposal_title) and its reasons."""
    out = [f"# {f.title}", "", period(f, zone)]
    if proposal:
        out += ["", f"## Proposal: {proposal[0]}", ""]
        out += [f"- {reason}" for reason in proposal[1]]
    out += ["", "## KPIs against their goals", ""]
    out += [f"- {kpi_line(k)}" for k in f.kpis]
    if f.metrics_note:
        out += [f"- {f.metrics_note}"]
    out += ["", "## Feedback", ""]
    out += [f"  - {x.strip()}" if x.startswith(" ") else f"- {x}" for x in feedback_lines(f)]
    out += ["", "## Support tickets", "", f"- {ticket_line(f, ticket_goal(f))}"]
    out += ["", "## Communications", ""] + [f"- {c}" for c in communication_lines(f, zone)]
    out += ["", "## Actions taken (decision log)", ""] + [f"- {d}" for d in decision_lines(f)]
    if f.risks:
        out += ["", "## Phase 2 risk register", "", "```", *matrix_lines(f.risks), "```", ""]
        out += [f"- {line}" for line in risk_lines(f)]
    return "\n".join(out) + "\n"

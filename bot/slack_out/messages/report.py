"""A report as a war-room post; the same lines as its Markdown (`bot.reports.render`)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block

from bot.phase2 import matrix_lines
from bot.reports.figures import Figures
from bot.reports.render import (
    communication_lines,
    decision_lines,
    feedback_lines,
    kpi_line,
    period,
    risk_lines,
    ticket_goal,
    ticket_line,
)
from bot.slack_out.messages.common import context, header, section, user_text


def blocks(
    f: Figures, zone: ZoneInfo, proposal: tuple[str, list[str]] | None = None
) -> list[Block]:
    out: list[Block] = [header(f.title), context(period(f, zone))]
    if proposal:
        out.append(
            section(f"*Proposal: {proposal[0]}*\n" + "\n".join(f"• {r}" for r in proposal[1]))
        )
    kpis = "\n".join(kpi_line(k) for k in f.kpis) + (
        f"\n{f.metrics_note}" if f.metrics_note else ""
    )
    out.append(section(f"*KPIs*\n{kpis}"))
    out.append(section("*Feedback*\n" + "\n".join(feedback_lines(f))[:2900]))
    out.append(section(f"*Support tickets*\n{ticket_line(f, ticket_goal(f))}"))
    out.append(section("*Communications*\n" + "\n".join(communication_lines(f, zone))))
    actions = decision_lines(f)
    shown = "\n".join(actions[:15]) + (
        f"\n…and {len(actions) - 15} more" if len(actions) > 15 else ""
    )
    out.append(section(f"*Actions taken*\n{shown}"[:2990]))
    if f.risks:
        grid = "\n".join(matrix_lines(f.risks))
        lines = "\n".join(user_text(line, 300) for line in risk_lines(f))
        out.append(section(f"*Phase 2 risk register*\n```{grid}```\n{lines}"))
    out.append(context("Markdown: `warroom export reports --format md`"))
    return out

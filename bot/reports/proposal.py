"""The executive report's proposal — advance to the next stage, hold, or roll back — and
the reasons for it, from the KPIs against their goals."""

from __future__ import annotations

from typing import Literal

from bot.reports.figures import Figures, KpiFigure

Proposal = Literal["advance", "hold", "rollback"]


def _value(k: KpiFigure) -> str:
    unit = " %" if k.unit == "%" else f" {k.unit}"
    return f"{k.value:.4g}{unit} (goal {k.op} {k.goal:g}{unit})"


def propose(figures: Figures) -> tuple[Proposal, list[str]]:
    """Roll back when a trigger is firing or a KPI is past a critical line; hold when a
    KPI misses its goal or has no data (nobody advances on an unknown); else advance."""
    if figures.open_episodes or any(k.mark == "🛑" for k in figures.kpis):
        return "rollback", [
            *(f"rollback trigger {t} is firing" for t in figures.open_episodes),
            *(
                f"{k.metric} is past its critical line: {_value(k)}"
                for k in figures.kpis
                if k.mark == "🛑"
            ),
        ]
    missed = [f"{k.metric} misses its goal: {_value(k)}" for k in figures.kpis if k.mark == "⚠️"]
    unknown = [
        f"{k.metric} has no data ({k.detail or 'nothing measured'}): cannot advance on it"
        for k in figures.kpis
        if k.mark == "❔"
    ]
    if missed or unknown:
        return "hold", missed + unknown
    met = [f"{k.metric} {_value(k)}" for k in figures.kpis if k.mark == "✅"]
    return "advance", [f"every KPI with data meets its goal: {', '.join(met)}"]

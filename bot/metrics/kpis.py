"""Live KPI values against their goals, for people: a mark and the number, never colour
alone. ✅ meets the goal; ⚠️ misses it; 🛑 past a rollback trigger's or alert's critical
line."""

from __future__ import annotations

from bot.integrations import IntegrationError
from bot.integrations.metrics import MetricsReader
from bot.playbook import OPS, Kpi, Playbook


def _critical(book: Playbook, metric: str, value: float) -> bool:
    for trigger in book.triggers:
        if (
            trigger.metric == metric
            and trigger.op
            and trigger.value is not None
            and OPS[trigger.op](value, float(trigger.value))
        ):
            return True
    for alert in book.alerts:
        if alert.metric == metric and (
            value > alert.critical if alert.direction == "above" else value < alert.critical
        ):
            return True
    return False


def kpi_lines(
    book: Playbook, reader: MetricsReader | None, metrics: list[str] | None = None
) -> list[str]:
    """One line per KPI, or per named metric (against its KPI goal, if it has one)."""
    if reader is None:
        return ["no metrics source configured (set PROMETHEUS_URL)"]
    goals = {k.metric: k for k in book.kpis}
    wanted = (
        [goals.get(m) or Kpi(metric=m, op=">=", value=float("-inf")) for m in metrics]
        if metrics is not None
        else list(book.kpis)
    )
    lines = []
    for kpi in wanted:
        spec = book.metrics[kpi.metric]
        unit = spec.unit if spec.unit != "%" else " %"
        goal = f"goal {kpi.op} {kpi.value:g}{unit}" if kpi.metric in goals else "no goal"
        if spec.source != "prometheus":
            continue  # MTTD, MTTR, satisfaction, tickets: in the reports
        try:
            reading = reader.read(kpi.metric)
        except IntegrationError as exc:
            lines.append(f"❔ {kpi.metric}: could not read ({exc.message[:80]}) — {goal}")
            continue
        if reading is None:
            lines.append(f"❔ {kpi.metric}: no data — {goal}")
            continue
        if _critical(book, kpi.metric, reading.value):
            mark = "🛑"
        elif OPS[kpi.op](reading.value, kpi.value):
            mark = "✅"
        else:
            mark = "⚠️"
        at = reading.at.astimezone(book.zone).strftime("%H:%M:%S")
        lines.append(f"{mark} {kpi.metric}: {reading.value:.4g} {spec.unit} — {goal} (as of {at})")
    return lines


def live_values(reader: MetricsReader, playbook: Playbook, names: list[str]) -> dict[str, str]:
    """Current values for people: the number, its unit and its freshness, or why not."""
    values = {}
    for name in names:
        try:
            reading = reader.read(name)
        except IntegrationError as exc:
            values[name] = f"could not read: {exc.message}"
            continue
        if reading is None:
            values[name] = "no data from Prometheus"
        else:
            unit = playbook.metrics[name].unit
            at = reading.at.astimezone(playbook.zone).strftime("%H:%M:%S")
            values[name] = f"{reading.value:.4g} {unit} (as of {at})"
    return values

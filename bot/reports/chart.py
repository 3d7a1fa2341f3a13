"""The daily report's chart: error rate and feedback rating through the day, as a PNG.
matplotlib (Agg backend, no display) is imported on the first chart, not with the bot: it
costs a serving process about 40 MiB it does not need until 18:00."""

from __future__ import annotations

import io

from bot.reports.figures import Figures


def has_chart(figures: Figures) -> bool:
    return bool(figures.error_rate) or any(
        h["average"] is not None for h in figures.feedback.hourly
    )


def render_png(
    figures: Figures, error_goal: float | None = None, rating_goal: float | None = None
) -> bytes:
    from matplotlib.figure import Figure  # renders with Agg; pyplot (and a GUI) never loaded

    chart = Figure(figsize=(8, 5), dpi=100)
    top, bottom = chart.subplots(2, 1, sharex=False)
    if figures.error_rate:
        labels = [at for at, _ in figures.error_rate]
        top.plot(labels, [v for _, v in figures.error_rate], color="#c0392b", label="error rate")
        if error_goal is not None:
            top.axhline(error_goal, linestyle="--", color="#7f8c8d", label="goal")
        top.set_xticks(labels[:: max(1, len(labels) // 8)])
        top.legend(loc="upper left")
    else:
        top.text(0.5, 0.5, "no error-rate data", ha="center", va="center")
    top.set_ylabel("error rate %")
    hours = [h["hour"] for h in figures.feedback.hourly]
    averages = [
        h["average"] if h["average"] is not None else float("nan") for h in figures.feedback.hourly
    ]
    bottom.plot(hours, averages, marker="o", color="#2c3e50", label="average rating")
    if rating_goal is not None:
        bottom.axhline(rating_goal, linestyle="--", color="#7f8c8d", label=f"goal {rating_goal:g}")
    bottom.set_ylim(1, 5)
    bottom.set_ylabel("rating (1–5)")
    bottom.set_xticks(hours[:: max(1, len(hours) // 8)])
    bottom.legend(loc="lower left")
    chart.suptitle(figures.title)
    chart.tight_layout()
    out = io.BytesIO()
    chart.savefig(out, format="png")
    return out.getvalue()

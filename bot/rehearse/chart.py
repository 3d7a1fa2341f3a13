"""The rehearsal's timeline chart: the metric curves, the trigger states, the posts, the
clicks, the decisions, the sign-offs and the faults on one time axis (local time), as
inline SVG for the HTML page. One chart of the whole launch, and one closer look at each
episode (minutes that vanish on a 48-hour axis).

matplotlib is imported when a chart is drawn (the Agg-free SVG path, no pyplot, no
display), as for the daily report's chart."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.playbook import Playbook

if TYPE_CHECKING:
    from matplotlib.axes import Axes

LANES = ("faults", "triggers", "decisions", "sign-offs", "clicks", "posts")
MAX_CURVES = 4
COLOURS = {"pending": "#f39c12", "firing": "#c0392b", "fault": "#8e44ad"}


@dataclass
class Marks:
    """What happened when, for the chart (all times aware, UTC)."""

    curves: dict[str, list[tuple[datetime, float | None]]]
    posts: list[datetime] = field(default_factory=list)
    clicks: list[datetime] = field(default_factory=list)
    decisions: list[tuple[datetime, str]] = field(default_factory=list)
    sign_offs: list[tuple[datetime, str]] = field(default_factory=list)
    # trigger, breach, fired, resolved (None: still firing at the end)
    triggers: list[tuple[str, datetime, datetime, datetime | None]] = field(default_factory=list)
    faults: list[tuple[str, datetime, datetime]] = field(default_factory=list)
    launch: datetime | None = None  # T, drawn as a line


def _curves_to_show(marks: Marks, book: Playbook) -> list[str]:
    """The metrics the triggers watch, then those whose story moves; a few at most."""
    watched = [t.metric for t in book.triggers if t.metric and t.metric in marks.curves]
    moving = [
        m
        for m, points in marks.curves.items()
        if len({v for _, v in points}) > 1 and m not in watched
    ]
    return list(dict.fromkeys(watched + moving))[:MAX_CURVES]


EPOCH = datetime(1970, 1, 1)  # matplotlib's date numbers: days since this


def _local(at: datetime, zone: ZoneInfo) -> float:
    """The local wall-clock time as a matplotlib date number."""
    return (at.astimezone(zone).replace(tzinfo=None) - EPOCH) / timedelta(days=1)


def _days(delta: timedelta) -> float:
    return delta / timedelta(days=1)


def _curve(
    ax: Axes, metric: str, marks: Marks, book: Playbook, span: tuple[datetime, datetime]
) -> None:
    zone = book.zone
    points = [(at, v) for at, v in marks.curves[metric] if span[0] <= at <= span[1]]
    xs = [_local(at, zone) for at, _ in points]
    ys = [float("nan") if v is None else v for _, v in points]
    ax.step(xs, ys, where="post", color="#2c3e50", linewidth=1.2)
    for trigger in book.triggers:
        if trigger.metric == metric and trigger.value is not None:
            ax.axhline(trigger.value, color=COLOURS["firing"], linestyle="--", linewidth=0.8)
    for alert in book.alerts:
        if alert.metric == metric:
            ax.axhline(alert.warning, color=COLOURS["pending"], linestyle=":", linewidth=0.8)
    unit = book.metrics[metric].unit if metric in book.metrics else ""
    ax.set_ylabel(f"{metric}\n({unit})" if unit else metric, fontsize=7)
    ax.tick_params(labelsize=7)


def _events(ax: Axes, marks: Marks, zone: ZoneInfo, span: tuple[datetime, datetime]) -> None:
    def inside(at: datetime) -> bool:
        return span[0] <= at <= span[1]

    lane = {name: i for i, name in enumerate(LANES)}
    for _kind, start, end in marks.faults:
        ax.broken_barh(
            [(_local(start, zone), _days(end - start))],
            (lane["faults"] - 0.3, 0.6),
            color=COLOURS["fault"],
        )
        ax.axvspan(_local(start, zone), _local(end, zone), color=COLOURS["fault"], alpha=0.08)
    for _name, breach, fired, resolved in marks.triggers:
        end = resolved or span[1]
        ax.broken_barh(
            [(_local(breach, zone), _days(fired - breach))],
            (lane["triggers"] - 0.3, 0.6),
            color=COLOURS["pending"],
        )
        ax.broken_barh(
            [(_local(fired, zone), _days(max(end - fired, timedelta(seconds=30))))],
            (lane["triggers"] - 0.3, 0.6),
            color=COLOURS["firing"],
        )
    rows: list[tuple[str, list[datetime], str]] = [
        ("decisions", [at for at, _ in marks.decisions], "|"),
        ("sign-offs", [at for at, _ in marks.sign_offs], "D"),
        ("clicks", marks.clicks, "o"),
        ("posts", marks.posts, "|"),
    ]
    for name, times, marker in rows:
        shown = [_local(at, zone) for at in times if inside(at)]
        ax.plot(shown, [lane[name]] * len(shown), linestyle="", marker=marker, markersize=7)
    _legend(ax)
    ax.set_yticks(range(len(LANES)), LANES, fontsize=7)
    ax.set_ylim(-0.7, len(LANES) - 0.3)
    ax.tick_params(axis="x", labelsize=7)


def _legend(ax: Axes) -> None:
    from matplotlib.patches import Patch

    handles = [
        Patch(color=COLOURS["pending"], label="trigger pending"),
        Patch(color=COLOURS["firing"], label="trigger firing"),
        Patch(color=COLOURS["fault"], label="fault"),
    ]
    ax.legend(handles=handles, loc="upper left", fontsize=6, framealpha=0.8)


def figure(marks: Marks, book: Playbook, span: tuple[datetime, datetime], title: str) -> Any:
    """The chart over `span` as a matplotlib Figure (curves above, the events lane below)."""
    from matplotlib.dates import AutoDateLocator, DateFormatter
    from matplotlib.figure import Figure

    shown = _curves_to_show(marks, book)
    chart = Figure(figsize=(11, 1.4 * len(shown) + 2.2))
    axes: list[Any] = list(
        chart.subplots(
            len(shown) + 1,
            1,
            sharex=True,
            squeeze=False,
            gridspec_kw={"height_ratios": [2] * len(shown) + [3]},
        )[:, 0]
    )
    for ax, metric in zip(axes, shown, strict=False):
        _curve(ax, metric, marks, book, span)
    if marks.launch is not None and span[0] <= marks.launch <= span[1]:
        for ax in axes:
            ax.axvline(_local(marks.launch, book.zone), color="#27ae60", linewidth=0.8)
    _events(axes[-1], marks, book.zone, span)
    axes[-1].set_xlim(_local(span[0], book.zone), _local(span[1], book.zone))
    axes[-1].xaxis.set_major_locator(AutoDateLocator(maxticks=12))  # type: ignore[no-untyped-call]
    axes[-1].xaxis.set_major_formatter(DateFormatter("%a %H:%M"))  # type: ignore[no-untyped-call]
    axes[-1].set_xlabel(f"local time ({book.timezone})", fontsize=7)
    chart.suptitle(title, fontsize=9)
    chart.tight_layout()
    return chart


def chart_svg(marks: Marks, book: Playbook, span: tuple[datetime, datetime], title: str) -> str:
    """One chart over `span`, as an <svg> element (text kept as text)."""
    from matplotlib import rc_context

    with rc_context({"svg.fonttype": "none", "font.size": 8}):
        out = io.StringIO()
        figure(marks, book, span, title).savefig(out, format="svg")
    svg = out.getvalue()
    return svg[svg.index("<svg") :]

"""`skip`: how far (`30m`, `4h`, `23h25m`, `1d 2h`), and the minute steps it takes, with a
progress mark every few hours on a long skip."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

from bot.playbook import parse_duration

STEP = timedelta(minutes=1)  # each scheduled post is made on its minute
PROGRESS_EVERY = timedelta(hours=6)  # a long skip says where it is this often
LONGEST = timedelta(days=7)


def skip_duration(text: str) -> timedelta:
    """`30m`, `4h`, `1d`, or parts together as a clock shows them: `23h25m`, `1d 2h`."""
    parts = re.findall(r"\d+[smhd]", text.replace(" ", ""))
    if not parts or "".join(parts) != text.replace(" ", ""):
        raise ValueError(f"expected a duration such as 30m, 4h or 23h25m, got {text!r}")
    return sum((parse_duration(part) for part in parts), timedelta())


def span_text(delta: timedelta) -> str:
    """`1d 6h`, `6h`, `25m`: a span as the person typed it."""
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if n]
    return " ".join(parts) or "0m"


def steps(delta: timedelta) -> Iterator[tuple[timedelta, timedelta, bool]]:
    """(how far to move, how far moved after it, whether to mark progress there)."""
    done = timedelta(0)
    long = delta > PROGRESS_EVERY
    while done < delta:
        move = min(STEP, delta - done)
        done += move
        yield move, done, long and done < delta and done % PROGRESS_EVERY == timedelta(0)

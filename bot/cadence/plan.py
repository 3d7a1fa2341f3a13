"""What is posted when: every occurrence derived from the playbook and the launch time T.

Pure: the same playbook and T always give the same occurrences, each with a stable key,
so re-deriving after a change of T or of the playbook leaves nothing stale behind.
Times are computed on local dates in the playbook's zone, so a 09:00 shift is at 09:00
local on both sides of a daylight-saving change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.playbook import Playbook, parse_duration, parse_local_time


class Kind(StrEnum):
    """What an occurrence posts; each kind has one handler in the runner."""

    SHIFT = "shift"
    SYNC = "sync"
    MILESTONE = "milestone"
    SNAPSHOT = "snapshot"
    COUNCIL = "council"
    COUNCIL_CLOSE = "council_close"
    DAILY_REPORT = "daily_report"
    EXECUTIVE_REPORT = "executive_report"


@dataclass(frozen=True, order=True)
class Occurrence:
    fire_at: datetime  # aware, UTC
    key: str  # stable identity, e.g. "shift:0:2026-12-01"
    kind: str  # a Kind
    title: str = field(compare=False)
    # the shift's or milestone's index, the snapshot's minutes
    data: dict[str, int] = field(default_factory=dict, compare=False, hash=False)


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time on a local date. A time that the spring
    change skips is moved forward by the gap, as people expect (02:30 → 03:30)."""
    local = datetime.combine(day, at, tzinfo=zone)
    roundtrip = local.astimezone(UTC).astimezone(zone)
    if roundtrip.replace(tzinfo=None) != local.replace(tzinfo=None):
        local = roundtrip
    return local.astimezone(UTC)


def window_days(start: datetime, end: datetime, zone: ZoneInfo) -> list[date]:
    first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def occurrences(book: Playbook, launch_at: datetime) -> list[Occurrence]:
    zone = book.zone
    end = launch_at + timedelta(hours=book.monitoring_window_hours)
    days = window_days(launch_at, end, zone)
    found: list[Occurrence] = []

    def within(instant: datetime) -> bool:
        return launch_at <= instant <= end

    for day in days:
        for index, shift in enumerate(book.shifts):
            at = local_instant(day, shift.local_time, zone)
            if within(at):
                found.append(
                    Occurrence(
                        at,
                        f"shift:{index}:{day.isoformat()}",
                        Kind.SHIFT,
                        shift.name,
                        {"shift": index},
                    )
                )
        at = local_instant(day, book.daily_sync.local_time, zone)
        if within(at):
            found.append(Occurrence(at, f"sync:{day.isoformat()}", Kind.SYNC, "Daily sync"))
        at = local_instant(day, parse_local_time(book.feedback.daily_report_at), zone)
        if within(at):
            found.append(
                Occurrence(at, f"daily_report:{day.isoformat()}", Kind.DAILY_REPORT, "Daily report")
            )
    for index, milestone in enumerate(book.milestones):
        offset = parse_duration(milestone.offset)
        found.append(
            Occurrence(
                launch_at + offset,
                f"milestone:{milestone.offset}",
                Kind.MILESTONE,
                milestone.title,
                {"milestone": index},
            )
        )
        if offset == timedelta(hours=24):
            found.append(
                Occurrence(
                    launch_at + offset,
                    "executive_report",
                    Kind.EXECUTIVE_REPORT,
                    "Executive report",
                )
            )
    snapshots = book.first_hour_snapshots
    for minutes in range(
        snapshots.every_minutes, snapshots.for_minutes + 1, snapshots.every_minutes
    ):
        found.append(
            Occurrence(
                launch_at + timedelta(minutes=minutes),
                f"snapshot:{minutes}",
                Kind.SNAPSHOT,
                f"T+{minutes} min snapshot",
                {"minutes": minutes},
            )
        )
    council_day = launch_at.astimezone(zone).date() + timedelta(days=book.council.day)
    council_at = local_instant(council_day, book.council.local_time, zone)
    found.append(Occurrence(council_at, "council", Kind.COUNCIL, "Control council"))
    found.append(
        Occurrence(
            council_at + timedelta(minutes=book.council.duration_minutes),
            "council_close",
            Kind.COUNCIL_CLOSE,
            "Control council closes",
        )
    )
    return sorted(found)

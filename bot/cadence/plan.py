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
    PHASE2_STEP = "phase2_step"  # a step of the Phase 2 timeline, in the product channel
    COMMUNICATION = "communication"  # a launch communication, posted to its owner
    STAFFING_CHECK = "staffing_check"  # support confirms the extra agents are on duty


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
    end = launch_at + timedelta(hours=book.monitoring_window_hours)
    found = [o for o in _daily(book, launch_at, end) if launch_at <= o.fire_at <= end]
    council = _council(book, launch_at)
    last = max(end, *(o.fire_at for o in council))  # the council may meet after the window
    return sorted(
        found
        + _final_report(found, last)
        + _syncs(book, launch_at, end)
        + _milestones(book, launch_at)
        + _snapshots(book, launch_at)
        + council
        + _phase2_timeline(book, launch_at)
        + _communications(book, launch_at)
        + _staffing(book, launch_at)
    )


def _daily(book: Playbook, start: datetime, end: datetime) -> list[Occurrence]:
    """The shifts and the daily report of every local day of the window."""
    zone, found = book.zone, []
    for day in window_days(start, end, zone):
        for index, shift in enumerate(book.shifts):
            at = local_instant(day, shift.local_time, zone)
            key = f"shift:{index}:{day.isoformat()}"
            found.append(Occurrence(at, key, Kind.SHIFT, shift.name, {"shift": index}))
        at = local_instant(day, parse_local_time(book.feedback.daily_report_at), zone)
        key = f"daily_report:{day.isoformat()}"
        found.append(Occurrence(at, key, Kind.DAILY_REPORT, "Daily report"))
    return found


def _syncs(book: Playbook, launch_at: datetime, end: datetime) -> list[Occurrence]:
    """The joint daily sync every day of the launch, from the day before T (the seed's
    Day −1, when the go-to-market work starts) to the window's last day, launch day's
    sync before T included."""
    zone = book.zone
    first = launch_at - timedelta(days=1)
    return [
        Occurrence(
            local_instant(day, book.daily_sync.local_time, zone),
            f"sync:{day.isoformat()}",
            Kind.SYNC,
            "Daily sync",
        )
        for day in window_days(first, end, zone)
    ]


def _final_report(daily: list[Occurrence], end: datetime) -> list[Occurrence]:
    """A last daily report at the end of the launch — the window's end, or the control
    council's close when it meets later (its vote and the flags it moves are reported too) —
    so what happens after the last regular report is reported (none when a regular report
    is already at that time). It sorts after the council's close at the same minute."""
    if any(o.kind == Kind.DAILY_REPORT and o.fire_at == end for o in daily):
        return []
    return [
        Occurrence(end, "daily_report:final", Kind.DAILY_REPORT, "Final daily report", {"final": 1})
    ]


def milestone_key(book: Playbook, index: int) -> str:
    """The stable key of a milestone's post (its scheduled run's `job_key`)."""
    return f"milestone:{book.milestones[index].offset}"


def _milestones(book: Playbook, launch_at: datetime) -> list[Occurrence]:
    found = []
    executive_at = parse_duration(book.schedule.executive_report_offset)
    for index, milestone in enumerate(book.milestones):
        offset = parse_duration(milestone.offset)
        key = milestone_key(book, index)
        at = launch_at + offset
        found.append(Occurrence(at, key, Kind.MILESTONE, milestone.title, {"milestone": index}))
        if offset == executive_at:
            found.append(
                Occurrence(
                    at,
                    "executive_report",
                    Kind.EXECUTIVE_REPORT,
                    "Executive report: figures and the proposal",  # beside the milestone
                )
            )
    return found


def _snapshots(book: Playbook, launch_at: datetime) -> list[Occurrence]:
    every, until = book.first_hour_snapshots.every_minutes, book.first_hour_snapshots.for_minutes
    return [
        Occurrence(
            launch_at + timedelta(minutes=minutes),
            f"snapshot:{minutes}",
            Kind.SNAPSHOT,
            f"T+{minutes} min snapshot",
            {"minutes": minutes},
        )
        for minutes in range(every, until + 1, every)
    ]


def _council(book: Playbook, launch_at: datetime) -> list[Occurrence]:
    council = book.council
    day = launch_at.astimezone(book.zone).date() + timedelta(days=council.day)
    at = local_instant(day, council.local_time, book.zone)
    end = at + timedelta(minutes=council.duration_minutes)
    return [
        Occurrence(at, "council", Kind.COUNCIL, "Control council"),
        Occurrence(end, "council_close", Kind.COUNCIL_CLOSE, "Control council closes"),
    ]


def _phase2_timeline(book: Playbook, launch_at: datetime) -> list[Occurrence]:
    """Each step at its local time on its first day; Day 0 is T's local date."""
    first = launch_at.astimezone(book.zone).date()
    return [
        Occurrence(
            local_instant(first + timedelta(days=step.from_day), step.local_time, book.zone),
            f"phase2:{index}",
            Kind.PHASE2_STEP,
            f"Phase 2 {step.days}: {step.title}",
            {"step": index},
        )
        for index, step in enumerate(book.phase2_timeline)
    ]


def communication_due(book: Playbook, index: int, launch_at: datetime) -> datetime:
    return launch_at + parse_duration(book.communications.items[index].offset)


def _communications(book: Playbook, launch_at: datetime) -> list[Occurrence]:
    """Each communication's notice, `notice_minutes` before it is due."""
    notice = timedelta(minutes=book.communications.notice_minutes)
    return [
        Occurrence(
            communication_due(book, index, launch_at) - notice,
            f"comm:{item.key}",
            Kind.COMMUNICATION,
            f"Communication due T{_signed(item.offset)}: {item.title}",
            {"comm": index},
        )
        for index, item in enumerate(book.communications.items)
    ]


def _staffing(book: Playbook, launch_at: datetime) -> list[Occurrence]:
    staffing = book.support_staffing
    if staffing is None:
        return []
    at = launch_at + parse_duration(staffing.offset)
    title = f"Support staffing check: {staffing.agents} agents on duty for the SLA"
    return [Occurrence(at, "staffing", Kind.STAFFING_CHECK, title)]


def _signed(offset: str) -> str:
    """'4h' → '+4h', '-1h' → '−1h'."""
    return offset.replace("-", "−") if offset.startswith("-") else f"+{offset}"

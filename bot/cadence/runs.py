"""What the runner hands each kind's handler, and what the handler hands back.

The runner (schedules/) claims a scheduled run once, then calls the handler of its kind
with a `Due`; the handler posts through the domain and answers with an `Outcome`, which
the runner records on the run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.cadence.plan import Occurrence
from storage.status import RunStatus

ON_TIME = timedelta(seconds=60)  # a post made later than this is marked late


@dataclass(frozen=True)
class PostRef:
    """Where a post landed, to update it or thread under it later."""

    channel: str
    ts: str
    queued: bool = False  # in the outbox: Slack has not taken it yet (it is retried)


QUEUED_NOTE = "in the outbox: Slack has not taken it yet and it is retried until it does"


@dataclass(frozen=True)
class MissedPost:
    job_key: str
    fire_at: datetime


@dataclass(frozen=True)
class PostNotes:
    """Said under a post: how late it is, what was missed while the bot was down."""

    late_seconds: int = 0
    missed: list[MissedPost] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    status: RunStatus
    message_ts: str = ""
    note: str = ""
    channel: str = ""  # where the post went, when not the war room


@dataclass(frozen=True)
class Due:
    occurrence: Occurrence
    run_id: int
    late_seconds: int
    # the missed posts not yet reported; taking them marks them reported, so only a post
    # that shows them takes them
    take_missed: Callable[[], list[MissedPost]] = lambda: []

    @property
    def late(self) -> bool:
        return self.late_seconds > ON_TIME.total_seconds()

    def notes(self) -> PostNotes:
        return PostNotes(self.late_seconds, self.take_missed())

    def posted(self, ref: PostRef | None, note: str = "") -> Outcome:
        """The outcome of a post: failed without a ref, else posted or late."""
        if ref is None:
            return Outcome(RunStatus.FAILED, "", "Slack did not accept the post")
        if ref.queued:
            note = f"{note}; {QUEUED_NOTE}" if note else QUEUED_NOTE
        status = RunStatus.LATE if self.late else RunStatus.POSTED
        return Outcome(status, ref.ts, note, ref.channel)


Handler = Callable[[Due], Outcome]
# a report producer posts itself: (a note for the run, the post's ts or None)
ReportProducer = Callable[[Occurrence], tuple[str, str | None]]


def report_handler(produce: ReportProducer) -> Handler:
    """A report producer as the handler of its kind."""

    def handle(due: Due) -> Outcome:
        note, ts = produce(due.occurrence)
        if ts is None:
            return Outcome(RunStatus.FAILED, "", note)
        return Outcome(RunStatus.LATE if due.late else RunStatus.POSTED, ts, note)

    return handle

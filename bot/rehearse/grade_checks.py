"""The grade's checks over the records and over what Slack showed: the scheduled posts,
the reminders and escalations, what the faults could have lost or doubled, the runbook,
where the flags ended, and what people had to do by hand."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from bot.rollback.model import step_actions
from bot.slack_out.outbox import row_of
from storage.models import (
    ChecklistState,
    DecisionRecord,
    FeedbackItem,
    OutboxMessage,
    RollbackRequest,
    RunbookStep,
    ScheduledRun,
)
from storage.status import OutboxStatus, RollbackStatus, RunStatus, StepStatus

if TYPE_CHECKING:
    from bot.rehearse.driver import Run

MADE = frozenset({RunStatus.POSTED, RunStatus.DECIDED, RunStatus.CLOSED})
SHOWN = 4  # problems named in a promise's detail; the rest are counted


@dataclass(frozen=True)
class Promise:
    name: str
    kept: bool
    detail: str


def _promise(name: str, kept: bool, detail: str) -> Promise:
    return Promise(name, kept, detail)


def utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _tolerance(run: Run) -> timedelta:
    """How late a post may reach Slack and still be "at its time": one driver step."""
    return max(timedelta(seconds=run.playbook.evaluation.interval_seconds), timedelta(minutes=1))


def _listed(problems: list[str], ok: str) -> str:
    if not problems:
        return ok
    more = f" (and {len(problems) - SHOWN} more)" if len(problems) > SHOWN else ""
    return "; ".join(problems[:SHOWN]) + more


def slack_ts(session: Session, ts: str) -> str:
    """Slack's ts for what a row holds: a ts as it is, an outbox handle once sent."""
    row_id = row_of(ts)
    if row_id is None:
        return ts
    row = session.get(OutboxMessage, row_id)
    return row.ts if row is not None and row.status == OutboxStatus.SENT else ""


# ---- the schedule ---------------------------------------------------------------------------
def scheduled_posts(run: Run) -> Promise:
    """Every post of the plan between the start and the end: one run, made (not late, not
    missed), in Slack at its time; and no run outside the plan."""
    plan = [o for o in run.services.schedule.plan() if run.start <= o.fire_at <= run.end]
    local, problems = run.timeline.local, []
    with Session(run.services.engine) as session:
        rows = list(session.exec(select(ScheduledRun)))
        made: dict[tuple[str, datetime], list[ScheduledRun]] = {}
        for row in rows:
            made.setdefault((row.job_key, utc(row.fire_at)), []).append(row)
        for occurrence in plan:
            what = f"{occurrence.title} ({local(occurrence.fire_at)})"
            runs = made.pop((occurrence.key, occurrence.fire_at), [])
            if len(runs) != 1:
                problems.append(f"{what}: {len(runs)} runs")
                continue
            posted = run.fake.posted_at.get(slack_ts(session, runs[0].message_ts))
            if runs[0].status not in MADE:
                problems.append(f"{what}: {runs[0].status}")
            elif not runs[0].message_ts:
                continue  # made without a message of its own (the council's close edits it)
            elif posted is None:
                problems.append(f"{what}: not in Slack")
            elif abs(posted - occurrence.fire_at) > _tolerance(run):
                problems.append(f"{what}: in Slack at {local(posted)}")
    for (key, at), _runs in made.items():
        problems.append(f"{key} at {local(at)}: not in the plan")
    return _promise(
        "Every scheduled post made once at its time",
        not problems,
        _listed(problems, f"{len(plan)} posts, each once, at its time"),
    )


# ---- reminders and escalations --------------------------------------------------------------
def _checklist_follow_ups(run: Run, session: Session) -> tuple[int, list[str]]:
    book, local, late = run.playbook.schedule, run.timeline.local, _tolerance(run)
    steps = [
        ("reminder", timedelta(minutes=book.checklist_remind_minutes), "reminded_at"),
        ("escalation", timedelta(minutes=book.checklist_escalate_minutes), "escalated_at"),
    ]
    due_count, problems = 0, []
    rows = session.exec(
        select(ChecklistState, ScheduledRun).where(ChecklistState.run_id == ScheduledRun.id)
    )
    for state, scheduled in rows:
        for what, after, column in steps:
            due = utc(scheduled.fire_at) + after
            acked = state.acknowledged_at and utc(state.acknowledged_at) <= due
            if acked or due > run.end - late:
                continue
            due_count += 1
            done = getattr(state, column)
            if done is None or utc(done) - due > late:
                said = "never" if done is None else f"at {local(utc(done))}"
                problems.append(f"{state.shift} {local(utc(scheduled.fire_at))}: {what} {said}")
    return due_count, problems


def _mention(member: str) -> str:
    return f"<!subteam^{member}>" if member.startswith("S") else f"<@{member}>"


def _expiry_escalations(run: Run, session: Session) -> tuple[list[str], list[str]]:
    """A critical request that expired is escalated to on-call: a post naming the request
    and mentioning every on-call member, on time. (what was told, what was missed)"""
    members = run.playbook.roles.get(run.playbook.schedule.oncall_role) or []
    local, late = run.timeline.local, _tolerance(run)
    expired = session.exec(
        select(RollbackRequest).where(
            RollbackRequest.status == RollbackStatus.EXPIRED, col(RollbackRequest.critical)
        )
    ).all()
    told, missed = [], []
    for request in expired:
        closed = utc(request.closed_at or request.expires_at)
        times = [
            at
            for m in run.fake.messages
            if f"#{request.id}" in m.text
            and all(_mention(member) in m.text for member in members)
            and closed <= (at := run.fake.posted_at.get(m.ts, closed)) <= closed + late
        ]
        what = f"rollback #{request.id} expired at {local(closed)}"
        if times:
            told.append(f"{what}, on-call told at {local(min(times))}")
        else:
            missed.append(f"{what}, on-call never told")
    return told, missed


def escalations(run: Run) -> Promise:
    with Session(run.services.engine) as session:
        checklists, problems = _checklist_follow_ups(run, session)
        told, missed = _expiry_escalations(run, session)
    ok = "; ".join([f"{checklists} checklist reminders and escalations on time", *told])
    return _promise(
        "No missed reminder or escalation",
        not problems + missed,
        _listed([*problems, *missed], ok),
    )


# ---- faults: nothing lost, nothing twice ----------------------------------------------------
def _feedback(run: Run, session: Session) -> Promise:
    items = list(session.exec(select(FeedbackItem)))
    lost = [
        f"feedback #{i.id}"
        for i in items
        if i.routed_at is None or slack_ts(session, i.message_ts) not in run.fake.posted_at
    ]
    return _promise(
        "No feedback lost",
        not lost,
        _listed(lost, f"{len(items)} filed, each in Slack" if items else "no feedback filed"),
    )


def _duplicates(run: Run) -> Promise:
    keys = Counter(
        str((m.metadata or {}).get("event_payload", {}).get("id"))
        for m in run.fake.messages
        if m.metadata
    )
    twice = [f"outbox #{key} posted {n} times" for key, n in keys.items() if n > 1]
    return _promise(
        "No post made twice", not twice, _listed(twice, f"{sum(keys.values())} posts, each once")
    )


def _unsent(session: Session) -> Promise:
    rows = list(session.exec(select(OutboxMessage)))
    left = [
        f"{r.kind} #{r.id} {r.status} ({r.last_error or 'not tried'})"
        for r in rows
        if r.status != OutboxStatus.SENT
    ]
    return _promise(
        "Everything sent to Slack reached it",
        not left,
        _listed(left, f"{len(rows)} posts, updates and files, all taken by Slack"),
    )


def _runbook_once(session: Session) -> Promise:
    executed = list(
        session.exec(
            select(RollbackRequest).where(col(RollbackRequest.executing_since).is_not(None))
        )
    )
    records = list(
        session.exec(
            select(DecisionRecord).where(
                col(DecisionRecord.action).in_(["rollback.done", "rollback.revert"]),
                DecisionRecord.outcome == "applied",
            )
        )
    )
    done = Counter(r.subject for r in records if r.action == "rollback.done")
    reverts = Counter(r.subject for r in records if r.action == "rollback.revert")
    problems = []
    for request in executed:
        finished = done.get(f"rollback#{request.id}", 0)
        if request.status != RollbackStatus.DONE or finished != 1:
            problems.append(f"rollback #{request.id}: {request.status}, finished {finished} times")
    for flag, count in reverts.items():
        runs = sum(1 for r in executed if flag in r.flags)
        if count > runs:
            problems.append(f"{flag} reverted {count} times in {runs} rollbacks")
    ok = (
        f"runbooks of {len(executed)} rollbacks, each finished once"
        if executed
        else "no runbook ran"
    )
    return _promise("Runbook finished once", not problems, _listed(problems, ok))


def faults_survived(run: Run) -> list[Promise]:
    with Session(run.services.engine) as session:
        return [_feedback(run, session), _duplicates(run), _unsent(session), _runbook_once(session)]


# ---- where the flags ended, and what people did by hand --------------------------------------
def final_flags(run: Run) -> list[Promise]:
    expect = run.scenario.expect
    if expect.final_percent is None and expect.final_segments is None:
        return []
    wrong, shown = [], []
    for flag in run.services.rollout.status().flags:
        segments = list(flag.segments)
        shown.append(f"{flag.name} {flag.percent:g} % ({', '.join(segments)})")
        if (expect.final_percent is not None and flag.percent != expect.final_percent) or (
            expect.final_segments is not None and segments != expect.final_segments
        ):
            wrong.append(shown[-1])
    want = f"{expect.final_percent:g} %" if expect.final_percent is not None else "any %"
    if expect.final_segments is not None:
        want += f" ({', '.join(expect.final_segments)})"
    detail = "; ".join(wrong or shown) + f"; expected {want}"
    return [_promise("Flags end where the scenario expects", not wrong, detail)]


def by_hand(run: Run) -> tuple[list[str], Promise]:
    """What a person had to do: runbook steps left waiting or failed, steps finished by
    hand, and actions the bot did not do (an integration not configured)."""
    with Session(run.services.engine) as session:
        steps = list(session.exec(select(RunbookStep).order_by(col(RunbookStep.id))))
    stuck: list[str] = []
    lines: list[str] = []
    for step in steps:
        where = f"rollback #{step.request_id}, {step.name}"
        if step.status in (StepStatus.WAITING, StepStatus.FAILED):
            stuck.append(f"{where}: {step.status} ({step.error or 'a person must confirm'})")
        elif step.done_by:
            stuck.append(f"{where}: finished by hand by {step.done_by}")
        lines.extend(f"{where}: {a.by_hand or a.detail}" for a in step_actions(step) if a.not_done)
    ok = "no step waited for a person"
    if lines:
        ok += f"; {len(lines)} actions not done by the bot (listed under by hand)"
    return [*stuck, *lines], _promise(
        "No runbook step left to a person", not stuck, _listed(stuck, ok)
    )

"""Scheduled posts: shift checklists, the sync, milestones, snapshots, the council."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    MarkdownTextObject,
    Option,
    SectionBlock,
)

from bot.cadence.runs import PostNotes
from bot.errors import natural_list
from bot.flags.health import HEALTH_PREFIX
from bot.ids.schedule import ScheduleAction, ScheduleBlock
from bot.playbook import Playbook, Shift
from bot.slack_out.messages.common import button_label, context, header, local_time, section, who
from storage.models import ChecklistState


def mention(members: list[str]) -> str:
    return " ".join(f"<!subteam^{m}>" if m.startswith("S") else f"<@{m}>" for m in members)


def owners_of(book: Playbook, roles: list[str]) -> str:
    return mention([m for role in roles for m in book.roles.get(role, [])])


def late_note(notes: PostNotes, zone: ZoneInfo) -> list[Block]:
    blocks: list[Block] = []
    if notes.late_seconds > 60:
        blocks.append(
            context(
                f":warning: Posted late by {notes.late_seconds // 60} min "
                "(the bot was down at its time)."
            )
        )
    if notes.missed:
        missed = [f"{m.job_key} ({m.fire_at.astimezone(zone):%a %H:%M})" for m in notes.missed]
        blocks.append(context(":warning: Missed while the bot was down: " + "; ".join(missed)))
    return blocks


def checklist_reminder(book: Playbook, shift: Shift) -> str:
    owners = owners_of(book, shift.owners)
    return f":bell: {owners} the {shift.name} checklist is waiting for an acknowledgement."


def checklist_escalation(book: Playbook, shift: Shift, role: str, minutes: int) -> str:
    return (
        f":rotating_light: {mention(book.roles.get(role, []))} nobody has "
        f"acknowledged the {shift.name} checklist after {minutes} min."
    )


def checklist_message(
    book: Playbook, shift: Shift, state: ChecklistState, run_id: int, zone: ZoneInfo
) -> tuple[str, list[Block]]:
    options = [Option(value=f"{run_id}:{i}", text=item[:75]) for i, item in enumerate(state.items)]
    ticked = [o for i, o in enumerate(options) if i in state.ticked]
    done = len(state.ticked) == len(state.items)
    title = f"{shift.name} — {shift.at} checklist" + (" ✔ complete" if done else "")
    blocks: list[Block] = [
        header(title),
        SectionBlock(
            text=MarkdownTextObject(
                text=f"Owners: {owners_of(book, shift.owners)} · tools: {', '.join(shift.tools) or '—'}"
            )
        ),
        ActionsBlock(
            block_id=ScheduleBlock.CHECKLIST,
            elements=[
                CheckboxesElement(
                    action_id=ScheduleAction.CHECKLIST_ITEMS,
                    options=options,
                    initial_options=ticked or None,
                )
            ],
        ),
    ]
    blocks.extend(live_blocks(state.live or []))
    if state.acknowledged_by:
        blocks.append(
            context(
                f"Acknowledged by {who(state.acknowledged_by)} at "
                f"{local_time(state.acknowledged_at, zone, '%H:%M')} · "
                f"{len(state.ticked)}/{len(state.items)} done"
            )
        )
    else:
        blocks.append(
            ActionsBlock(
                block_id=ScheduleBlock.CHECKLIST_ACTIONS,
                elements=[
                    ButtonElement(
                        text="Acknowledge",
                        action_id=ScheduleAction.CHECKLIST_ACK,
                        value=str(run_id),
                        style="primary",
                    )
                ],
            )
        )
    return f"{title}: {len(state.ticked)}/{len(state.items)} done", blocks


def live_blocks(live: list[str]) -> list[Block]:
    """The flag provider's health on a line of its own, then the live metric values."""
    health = [line for line in live if line.startswith(HEALTH_PREFIX)]
    metrics = [line for line in live if not line.startswith(HEALTH_PREFIX)]
    blocks: list[Block] = [context(line) for line in health]
    if metrics:
        blocks.append(context("Live: " + " · ".join(metrics)))
    return blocks


def sync_message(book: Playbook) -> tuple[str, list[Block]]:
    sync = book.daily_sync
    text = (
        f":busts_in_silhouette: Daily sync at {sync.at} ({sync.duration_minutes} min): "
        "metrics, blockers, rollout decisions."
    )
    return text, [section(f"{text}\n{owners_of(book, sync.attendees)}")]


def snapshot_message(
    book: Playbook, minutes: int, values: dict[str, str]
) -> tuple[str, list[Block]]:
    lines = [
        f"• {metric}: {values.get(metric, 'no metrics source configured')}"
        for metric in book.first_hour_snapshots.metrics
    ]
    text = f"T+{minutes} min snapshot"
    return text, [section(f":bar_chart: *{text}*\n" + "\n".join(lines))]


def vote_labels(book: Playbook) -> dict[str, str]:
    """Each choice of the council (bot.cadence.council.Vote) as its button says it."""
    return {
        "advance": f"Advance to {book.council.advance_percent} %",
        "hold": f"Hold at {book.rollout_target.percent} %",
        "rollback": "Roll back",
    }


def council_message(
    book: Playbook, run_id: int, tally: dict[str, list[str]], closed: bool, outcome: str | None
) -> tuple[str, list[Block]]:
    council, labels = book.council, vote_labels(book)
    lines = [
        f"*{label}*: {len(tally.get(choice, []))} {mention(tally.get(choice, []))}"
        for choice, label in labels.items()
    ]
    head = (
        f":classical_building: Control council ({council.duration_minutes} min): advance "
        f"to {council.advance_percent} % or hold? Voters: " + ", ".join(council.voters)
    )
    blocks: list[Block] = [
        section(head),
        section("\n".join(lines)),
    ]
    if not closed:
        blocks.append(
            ActionsBlock(
                block_id=ScheduleBlock.VOTE_ACTIONS,
                elements=[
                    *[
                        ButtonElement(
                            text=button_label(label),
                            action_id=f"{ScheduleAction.VOTE}.{choice}",
                            value=f"{run_id}:{choice}",
                        )
                        for choice, label in labels.items()
                    ],
                    ButtonElement(
                        text="Close vote (chair)",
                        action_id=ScheduleAction.COUNCIL_CLOSE,
                        value=str(run_id),
                    ),
                ],
            )
        )
        blocks.append(
            context(f"One vote per person, changeable until closed · chair: {council.chair}")
        )
    else:
        blocks.append(context(f"Closed. Outcome: *{labels.get(outcome or '', outcome)}*"))
        if outcome == "advance":
            blocks.append(
                ActionsBlock(
                    block_id=ScheduleBlock.VOTE_ACTIONS,
                    elements=[
                        ButtonElement(
                            text=button_label(f"Set every flag to {council.advance_percent} %"),
                            action_id=ScheduleAction.ADVANCE,
                            value=str(run_id),
                            style="primary",
                        )
                    ],
                )
            )
    return "Control council", blocks


def schedule_list(
    rows: list[tuple[datetime, str]], zone: ZoneInfo, shown: int = 20
) -> tuple[str, list[Block]]:
    """The next `shown` posts, and how many more there are (never a silent cut)."""
    if not rows:
        return "Nothing scheduled", [
            SectionBlock(text="Nothing scheduled: set T with `/rollout launch TIME`.")
        ]
    lines = [f"`{local_time(at, zone, '%a %d %b %H:%M')}` {title}" for at, title in rows[:shown]]
    blocks: list[Block] = [
        header("Upcoming posts"),
        section("\n".join(lines)[:2900]),
    ]
    if len(rows) > shown:
        last = local_time(rows[shown - 1][0], zone, "%a %d %b %H:%M")
        blocks.append(context(f"…and {len(rows) - shown} more after {last}."))
    return "Upcoming posts", blocks


def already_past_text(names: list[str]) -> str:
    """'T−24h and T−12h are already past and will not be posted.'"""
    listed = natural_list(names, "and")
    verb = "is" if len(names) == 1 else "are"
    return f"{listed} {verb} already past and will not be posted."

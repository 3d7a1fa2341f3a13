"""The go-to-market posts: the Phase 2 timeline's steps, the launch communications (notice,
Mark sent form, follow-ups, a rollback's pause), the support staffing check and the line
the SLA flag gives it."""

from __future__ import annotations

from datetime import date, timedelta

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    InputBlock,
    PlainTextInputElement,
)
from slack_sdk.models.views import View

from bot.comms.notifier import CommView, Staffing
from bot.ids.comms import CommsAction, CommsBlock, CommsView
from bot.playbook import Playbook
from bot.slack_out.messages.common import context, link, local_time, section, user_text, who
from bot.slack_out.messages.schedule import mention, owners_of
from bot.tickets import Duty
from storage.status import CommStatus

# ---- the Phase 2 timeline ----------------------------------------------------------------


def phase2_step_message(book: Playbook, index: int, first_day: date) -> tuple[str, list[Block]]:
    step = book.phase2_timeline[index]
    last_day = first_day + timedelta(days=(step.to_day or step.from_day) - step.from_day)
    span = f"{first_day:%a %d %b}" + (f" → {last_day:%a %d %b}" if last_day != first_day else "")
    text = f"Phase 2 {step.days}: {step.title}"
    actions = "".join(f"\n• {user_text(a, 200)}" for a in step.actions)
    blocks: list[Block] = [
        section(f":spiral_calendar_pad: *{user_text(text, 300)}* ({span}){actions}"),
        context(f"Owners: {owners_of(book, step.owners)}"),
    ]
    return text, blocks


# ---- the communications ------------------------------------------------------------------


def _when(book: Playbook, view: CommView) -> str:
    offset = view.item.offset
    signed = offset.replace("-", "−") if offset.startswith("-") else f"+{offset}"
    return f"{local_time(view.state.due_at, book.zone, '%a %d %b %H:%M')} (T{signed})"


def _approved(view: CommView) -> str:
    url = view.item.approved_text
    return link(url, "approved text") if url else "approved text: not linked in the playbook"


def notice_message(book: Playbook, view: CommView) -> tuple[str, list[Block]]:
    item, state = view.item, view.state
    title = user_text(item.title, 150)
    text = f"Communication due {_when(book, view)}: {item.title}"
    blocks: list[Block] = [
        section(
            f":mega: *{title}* — due {_when(book, view)}\n"
            f"Channel: {user_text(item.channel, 40)} · owner: {owners_of(book, [item.owner])} "
            f"(`{item.owner}`) · {_approved(view)}"
        )
    ]
    if state.status == CommStatus.SENT:
        sent = local_time(state.sent_at, book.zone, "%H:%M")
        blocks.append(
            context(
                f":white_check_mark: Sent — marked by {who(state.sent_by)} at {sent}: "
                f"{link(state.sent_link, 'what went out')}"
            )
        )
        return f"Sent: {item.title}", blocks
    if state.status == CommStatus.PAUSED:
        paused = local_time(state.paused_at, book.zone, "%H:%M")
        by = user_text(state.paused_by.replace("#", " #"), 32)
        blocks.append(context(f":double_vertical_bar: Paused by {by} at {paused}: do not send."))
        return f"Paused: {item.title}", blocks
    blocks.append(
        ActionsBlock(
            block_id=CommsBlock.NOTICE_ACTIONS,
            elements=[
                ButtonElement(
                    text="Mark sent",
                    action_id=CommsAction.MARK_SENT,
                    value=str(view.id),
                    style="primary",
                )
            ],
        )
    )
    blocks.append(context("When it has gone out, *Mark sent* with the link to what went out."))
    return text, blocks


def reminder_text(book: Playbook, view: CommView) -> str:
    return (
        f":bell: {owners_of(book, [view.item.owner])} {user_text(view.item.title, 150)} was "
        f"due at {local_time(view.state.due_at, book.zone, '%H:%M')} and is not marked sent."
    )


def escalation_text(book: Playbook, view: CommView, role: str, minutes: int) -> str:
    return (
        f":rotating_light: {mention(book.roles.get(role, []))} {user_text(view.item.title, 150)} "
        f"is still not marked sent {minutes} min after its time "
        f"(owner `{view.item.owner}`)."
    )


def paused_message(
    book: Playbook, request_id: int, views: list[CommView]
) -> tuple[str, list[Block]]:
    count = len(views)
    head = (
        f"Rollback #{request_id}: {count} communication"
        f"{'s' if count != 1 else ''} not sent yet {'are' if count != 1 else 'is'} paused"
    )
    lines = [
        f"• {user_text(v.item.title, 150)} — due {_when(book, v)}, owner `{v.item.owner}`"
        for v in views
    ]
    blocks: list[Block] = [
        section(f":double_vertical_bar: *{head}.*\n" + "\n".join(lines)),
        context(
            "They will not be posted or reminded. A new launch time (`/rollout launch`) "
            "schedules them again."
        ),
    ]
    return f"{head}.", blocks


def mark_sent_form(view: CommView) -> View:
    return View(
        type="modal",
        callback_id=CommsView.MARK_SENT,
        private_metadata=str(view.id),
        title="Mark sent",
        submit="Mark sent",
        close="Cancel",
        blocks=[
            section(f"*{user_text(view.item.title, 150)}* ({user_text(view.item.channel, 40)})"),
            InputBlock(
                block_id=CommsBlock.LINK,
                label="Link to what went out",
                hint="The sent email, the live banner or message, the published article.",
                element=PlainTextInputElement(
                    action_id=CommsBlock.LINK_INPUT, placeholder="https://…", max_length=500
                ),
            ),
        ],
    )


# ---- support staffing --------------------------------------------------------------------


def _asked(book: Playbook) -> list[str]:
    return book.permissions.get("staffing.confirm", [])


def _duty_line(staffing: Staffing) -> str:
    agents = ", ".join(who(u) for u in staffing.on_duty) or "nobody yet"
    return f"On duty: {agents} ({len(staffing.on_duty)}/{staffing.required})"


def staffing_message(book: Playbook, staffing: Staffing) -> tuple[str, list[Block]]:
    sla = book.feedback.support_sla_hours
    head = f"Support staffing: {staffing.required} agents on duty for the {sla:g} h beta SLA?"
    blocks: list[Block] = [
        section(
            f":headphones: *{head}*\n{owners_of(book, _asked(book))} each agent on duty for "
            "the launch, say so below."
        ),
        context(_duty_line(staffing)),
    ]
    if staffing.confirmed_at is not None:
        at = local_time(staffing.confirmed_at, book.zone, "%H:%M")
        blocks.append(context(f":white_check_mark: Staffing confirmed at {at}."))
    blocks.append(
        ActionsBlock(
            block_id=CommsBlock.STAFFING_ACTIONS,
            elements=[
                ButtonElement(
                    text="I'm on duty",
                    action_id=CommsAction.ON_DUTY,
                    value=str(staffing.run_id),
                    style="primary",
                )
            ],
        )
    )
    done = "confirmed" if staffing.confirmed_at else f"{len(staffing.on_duty)}/{staffing.required}"
    return f"{head} ({done})", blocks


def not_confirmed_text(book: Playbook, staffing: Staffing, roles: list[str]) -> str:
    return (
        f":warning: {owners_of(book, roles)} support staffing is not confirmed: "
        f"{_duty_line(staffing)}."
    )


def duty_text(book: Playbook, duty: Duty | None) -> str:
    """The SLA flag's last sentence: who is on duty, as the staffing check says."""
    if book.support_staffing is None:
        return ""
    if duty is None:
        return " On duty: unknown (the staffing check has not been posted)."
    agents = ", ".join(who(u) for u in duty.on_duty)
    if not agents:
        return f" On duty: nobody has confirmed (0/{duty.required})."
    short = "" if len(duty.on_duty) >= duty.required else f", {len(duty.on_duty)}/{duty.required}"
    return f" On duty: {agents}{short}."

"""Messages of the rollout surface: status, announcements, history, help."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    DividerBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.flags.base import FlagView
from bot.ids.rollout import RolloutAction, RolloutBlock
from bot.rollout import FreezeState, RolloutStatus
from bot.slack_out.messages.common import context, header, local_time, section, user_text, who
from bot.slack_out.messages.decisions import segments_text, state_text
from storage.models import DecisionRecord

HELP = """*`/rollout` — control the staged launch*
• `/rollout status` — each flag, the freeze, T
• `/rollout set FLAG PERCENT [SEGMENT[,SEGMENT]] [-- reason]` — e.g. `/rollout set SMART_PRICING 25 internal_beta,external_beta -- metrics green`
• `/rollout launch TIME` — set T, e.g. `/rollout launch 2026-12-01 10:00` (local) or ISO-8601
• `/rollout freeze REASON` / `/rollout unfreeze` — pause the rollout and block deployments
• `/rollout history [N]` — the last N decisions (default 10)
• `/rollout schedule` — the upcoming scheduled posts, in local time
• `/rollout help` — this text"""


def _freeze_block(freeze: FreezeState, zone: ZoneInfo) -> Block:
    if freeze.frozen:
        text = (
            f":snowflake: *Frozen* by {who(freeze.by)} since "
            f"{local_time(freeze.at, zone)}: {user_text(freeze.reason)}\nDeployments are blocked."
        )
    else:
        text = ":white_check_mark: *Not frozen*: changes and deployments may proceed."
    return section(text)


def _flag_blocks(
    flag: FlagView, last: DecisionRecord | None, zone: ZoneInfo, outside: bool = False
) -> list[Block]:
    change = (
        f"last change {local_time(last.at, zone)} by {who(last.actor)}"
        if last
        else "no change recorded yet"
    )
    if outside:
        change = f":warning: changed outside warroom (recorded as seen) · {change}"

    rules = f" · {flag.user_rules} user rule(s)" if flag.user_rules else ""
    return [
        SectionBlock(
            fields=[
                MarkdownTextObject(
                    text=f"*{flag.name}*\n{flag.percent} %"
                    + (" · :no_entry: *switched off*" if flag.switched_off else "")
                ),
                MarkdownTextObject(text=f"*Segments*\n{segments_text(flag.segments)}"),
            ]
        ),
        context(f"{change}{rules}"),
    ]


def _launch_context(
    status: RolloutStatus, zone: ZoneInfo, next_post: tuple[datetime, str] | None
) -> Block:
    t = (
        local_time(status.launch_at, zone)
        if status.launch_at
        else "not set (`/rollout launch TIME`)"
    )
    upcoming = (
        f" · next post: {next_post[1]} at {local_time(next_post[0], zone)}" if next_post else ""
    )
    return context(f"T (launch): {t}{upcoming} · flag provider: {status.provider}")


def status_message(
    status: RolloutStatus,
    zone: ZoneInfo,
    next_post: tuple[datetime, str] | None = None,
    kpis: list[str] | None = None,
) -> tuple[str, list[Block]]:
    blocks: list[Block] = [header("Rollout status"), _freeze_block(status.freeze, zone)]
    for flag in status.flags:
        outside = flag.name in status.changed_outside
        blocks += _flag_blocks(flag, status.last_changes.get(flag.name), zone, outside)
    if kpis:
        blocks.append(section("*KPIs*\n" + "\n".join(kpis)))
    blocks.append(DividerBlock())
    blocks.append(_launch_context(status, zone, next_post))
    lines = [f"{f.name} {f.percent} % ({segments_text(f.segments)})" for f in status.flags]
    text = ("FROZEN. " if status.freeze.frozen else "") + "; ".join(lines)
    return text, blocks


def flag_changed_message(record: DecisionRecord, zone: ZoneInfo) -> tuple[str, list[Block]]:
    text = (
        f"{who(record.actor)} set *{record.subject}*: {state_text(record.before, zone)} → "
        f"*{state_text(record.after, zone)}*"
    )
    blocks: list[Block] = [section(f":triangular_flag_on_post: {text}")]
    why = f"Why: {user_text(record.reason)} · " if record.reason else ""
    blocks.append(context(f"{why}{local_time(record.at, zone)} · decision #{record.seq}"))
    return text, blocks


def launch_set_message(record: DecisionRecord, zone: ZoneInfo) -> tuple[str, list[Block]]:
    when = datetime.fromisoformat(record.after["launch_at"])
    text = f"{who(record.actor)} set the launch time T to *{local_time(when, zone, '%a %d %b %Y %H:%M %Z')}*"
    if record.before and record.before.get("launch_at"):
        before = datetime.fromisoformat(record.before["launch_at"])
        text += f" (was {local_time(before, zone)})"
    blocks: list[Block] = [
        section(f":rocket: {text}"),
        context(f"Every milestone and shift hangs on T · decision #{record.seq}"),
    ]
    return text, blocks


def frozen_message(record: DecisionRecord, zone: ZoneInfo) -> tuple[str, list[Block]]:
    text = f"{who(record.actor)} *froze the rollout*: {user_text(record.reason)}"
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f":snowflake: {text}\nFlag changes are refused and deployments blocked."
            )
        ),
        ActionsBlock(
            block_id=RolloutBlock.FREEZE_ACTIONS,
            elements=[
                ButtonElement(
                    text="Unfreeze",
                    action_id=RolloutAction.UNFREEZE,
                    value=str(record.seq),
                    confirm=ConfirmObject(
                        title="Lift the freeze?",
                        text="Flag changes and deployments will be allowed again.",
                        confirm="Unfreeze",
                        deny="Keep frozen",
                    ),
                )
            ],
        ),
        context(f"{local_time(record.at, zone)} · decision #{record.seq}"),
    ]
    return text, blocks


def unfrozen_message(record: DecisionRecord, zone: ZoneInfo) -> tuple[str, list[Block]]:
    was = record.before or {}
    text = f"{who(record.actor)} *lifted the freeze* (was: {user_text(str(was.get('reason', '')))})"
    blocks: list[Block] = [
        section(f":sunny: {text}"),
        context(f"{local_time(record.at, zone)} · decision #{record.seq}"),
    ]
    return text, blocks


def freeze_lifted_note(record: DecisionRecord, zone: ZoneInfo) -> tuple[str, list[Block]]:
    """Replaces a freeze message once its button has been used: no button is left to press."""
    text = f"Freeze lifted by {who(record.actor)} at {local_time(record.at, zone)}"
    return text, [
        section(f":sunny: {text}"),
        context(f"decision #{record.seq}"),
    ]


def help_message() -> tuple[str, list[Block]]:
    return "How to use /rollout", [section(HELP)]


def change_confirmation(
    record: DecisionRecord, announced: bool, channel: str, queued: bool = False
) -> tuple[str, list[Block]]:
    """The actor's ephemeral receipt; the channel gets the announcement itself."""
    if announced and queued:
        text = (
            f"Done: decision #{record.seq} recorded. Slack has not taken the announcement in "
            f"{channel} yet; it is sent as soon as Slack does."
        )
    elif announced:
        text = f"Done: decision #{record.seq} recorded and announced in {channel}."
    else:
        text = (
            f":warning: Done: decision #{record.seq} recorded, but the announcement in "
            f"{channel} could not be posted (Slack did not accept it). Tell the channel."
        )
    return text, [section(text)]

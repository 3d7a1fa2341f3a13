"""The milestone posts: T with **Apply the launch target**, the checkpoint with *Continue*
and *Brake* (and, after a brake, the freeze it offers); what each says once acted on, and
the reply to the person who clicked."""

from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement

from bot.cadence.milestones import CheckpointChoice, checkpoint_index, launch_index
from bot.cadence.notifier import FlagGap, MilestoneActed
from bot.errors import natural_list
from bot.ids.schedule import ScheduleAction, ScheduleBlock
from bot.playbook import FlagTarget, Playbook
from bot.slack_out.messages.common import context, local_time, section, who


def _state(percent: object, segments: list[str] | None) -> str:
    return f"{percent} % ({', '.join(segments or []) or 'no segment'})"


def target_text(target: FlagTarget) -> str:
    return _state(target.percent, target.segments)


def allowed(book: Playbook, action: str) -> str:
    """Who may press a button, as the playbook grants the action."""
    return natural_list([f"`{r}`" for r in book.permissions.get(action, [])], "or") or "nobody"


def _button(text: str, action_id: str, run_id: int, style: str | None = None) -> ButtonElement:
    return ButtonElement(text=text, action_id=action_id, value=str(run_id), style=style)


def _title(book: Playbook, index: int) -> str:
    milestone = book.milestones[index]
    offset = milestone.offset
    return f"T{offset if offset.startswith('-') else '+' + offset}: {milestone.title}"


def milestone_message(
    book: Playbook, index: int, run_id: int, acted: MilestoneActed | None = None
) -> tuple[str, list[Block]]:
    """The post; once acted on, its note instead of the buttons (a brake still offers the
    freeze until someone freezes)."""
    milestone, text = book.milestones[index], _title(book, index)
    actions = "\n".join(f"• {a}" for a in milestone.actions)
    blocks: list[Block] = [section(f":round_pushpin: *{text}*\n{actions}")]
    if acted is not None:
        return text, blocks + acted_blocks(book, run_id, acted)
    if index == launch_index(book):
        target = target_text(book.rollout_target)
        blocks += [
            ActionsBlock(
                block_id=ScheduleBlock.DECISION_ACTIONS,
                elements=[
                    _button(
                        "Apply the launch target", ScheduleAction.APPLY_TARGET, run_id, "primary"
                    )
                ],
            ),
            context(
                f"Sets {natural_list([f'`{f}`' for f in book.flags])} to {target}, once · "
                f"{allowed(book, 'rollout.set')}"
            ),
        ]
    if index == checkpoint_index(book):
        blocks.append(
            ActionsBlock(
                block_id=ScheduleBlock.DECISION_ACTIONS,
                elements=[
                    _button("Continue", ScheduleAction.DECIDE_CONTINUE, run_id, "primary"),
                    _button("Brake", ScheduleAction.DECIDE_BRAKE, run_id, "danger"),
                ],
            )
        )
    return text, blocks


def gap_lines(book: Playbook, gaps: list[FlagGap]) -> str:
    target = target_text(book.rollout_target)
    return "\n".join(
        f"• `{g.flag}` is at {_state(g.percent, g.segments)}, the target is {target}" for g in gaps
    )


def acted_blocks(book: Playbook, run_id: int, acted: MilestoneActed) -> list[Block]:
    zone = book.zone
    at = local_time(acted.at, zone, "%H:%M")
    if acted.action not in set(CheckpointChoice):
        return [context(applied_text(book, acted) + f" · by {who(acted.user)} at {at}")]
    blocks: list[Block] = [context(f"Decision: *{acted.action}* by {who(acted.user)} at {at}")]
    if acted.gaps:
        blocks.append(
            section(
                ":warning: *Continued while not at the launch target:*\n"
                + gap_lines(book, acted.gaps)
            )
        )
    if acted.frozen_by:
        frozen = local_time(acted.frozen_at, zone, "%H:%M")
        blocks.append(context(f":snowflake: Frozen by {who(acted.frozen_by)} at {frozen}"))
    elif acted.freeze_offered:
        blocks += [
            ActionsBlock(
                block_id=ScheduleBlock.DECISION_ACTIONS,
                elements=[_button("Freeze the rollout", ScheduleAction.FREEZE, run_id, "danger")],
            ),
            context(
                "Freezing stops every flag change and blocks deployments until "
                f"`/rollout unfreeze` · {allowed(book, 'rollout.freeze')}"
            ),
        ]
    return blocks


def applied_text(book: Playbook, acted: MilestoneActed) -> str:
    target = target_text(book.rollout_target)
    if not acted.moves:
        return f":white_check_mark: Launch target {target}: every flag was already there"
    moved = "; ".join(
        f"`{m.flag}` {_state(m.before.get('percent'), m.before.get('segments'))} → "
        f"{_state(m.after.get('percent'), m.after.get('segments'))}"
        for m in acted.moves
    )
    return f":rocket: Launch target applied: {moved}"


def milestone_reply(book: Playbook, acted: MilestoneActed) -> tuple[str, list[Block]]:
    """What the person who clicked is told."""
    if acted.action not in set(CheckpointChoice):
        text = applied_text(book, acted)
    elif acted.frozen_by:
        text = ":snowflake: The rollout is frozen: no flag changes and no deployments."
    elif acted.gaps:
        target = book.rollout_target
        text = (
            f":warning: Recorded *{acted.action}*, but the flags are not at the launch target:\n"
            + gap_lines(book, acted.gaps)
            + f"\n`/rollout set {acted.gaps[0].flag} {target.percent} {','.join(target.segments)}`"
            " moves a flag there."
        )
    else:
        text = f"Recorded *{acted.action}*."
        if acted.freeze_offered:
            text += " The post offers *Freeze the rollout*."
    return text, [section(text)]

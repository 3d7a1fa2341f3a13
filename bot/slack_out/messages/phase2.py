"""/phase2's replies and posts: the backlog with its buttons, the risk register as a matrix,
the decisions told in the Phase 2 channel."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.ids.phase2 import Phase2Action
from bot.phase2 import EpicsResult, ItemView, matrix_lines, risk_line
from bot.phase2.risks import RiskChange, RiskLike
from bot.playbook import Playbook
from bot.slack_out.messages.common import context, cut, link, section, user_text, who
from storage.status import BacklogStatus

MARK = {
    BacklogStatus.PROPOSED: ":white_circle: proposed",
    BacklogStatus.REFINED: ":large_blue_circle: refined",
    BacklogStatus.APPROVED: ":white_check_mark: approved",
}
NEXT = {  # the button an item shows: its next step
    BacklogStatus.PROPOSED: ("Refine", Phase2Action.REFINE),
    BacklogStatus.REFINED: ("Approve", Phase2Action.APPROVE),
}


def owner_text(book: Playbook, owner: str) -> str:
    """A role as `role`, a Slack user as a mention, a title as text."""
    if owner in book.roles:
        return f"`{owner}`"
    return who(owner)


def epic_text(view: ItemView) -> str:
    if not view.epic_url:
        return "no epic yet"
    return "epic " + link(view.epic_url, view.epic_key or "epic")


def item_text(book: Playbook, v: ItemView) -> str:
    item = v.item
    deps = ", ".join(item.dependencies) or "none"
    return (
        f"*{item.feature}* — {MARK[v.status]}\n"
        f"Expected: {user_text(item.expected, 300)}\n"
        f"Owner {owner_text(book, item.owner)} · complexity {item.complexity} · "
        f"depends on {user_text(deps, 300)} · {epic_text(v)}"
    )


def backlog_message(
    book: Playbook, views: Sequence[ItemView], jira: bool
) -> tuple[str, list[Block]]:
    approved = sum(v.status == BacklogStatus.APPROVED for v in views)
    summary = f"{approved} of {len(views)} approved"
    blocks: list[Block] = [
        HeaderBlock(text="Phase 2 backlog"),
        context(f"{summary} · proposed → refined → approved · `/phase2 help`"),
    ]
    for v in views:
        step = NEXT.get(v.status)
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(text=cut(item_text(book, v), 3000)),
                accessory=ButtonElement(text=step[0], action_id=step[1], value=v.item.feature)
                if step
                else None,
            )
        )
    waiting = [v for v in views if v.status == BacklogStatus.APPROVED and not v.epic_key]
    if jira and waiting:
        blocks.append(
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text=f"Create epics ({len(waiting)})",
                        action_id=Phase2Action.EPICS,
                        value="epics",
                        style="primary",
                    )
                ]
            )
        )
    elif waiting:
        blocks.append(context("No Jira configured: link epics with `/phase2 link FEATURE URL`."))
    return f"Phase 2 backlog: {summary}", blocks[:50]


def status_note(v: ItemView, actor: str, note: str, approved: int, total: int) -> str:
    """The decision, told in the Phase 2 channel."""
    verb = "approved" if v.status == BacklogStatus.APPROVED else str(v.status)
    why = f"\n>{user_text(note)}" if note else ""
    text = (
        f":clipboard: {who(actor)} {verb} *{v.item.feature}* for Phase 2 "
        f"({approved} of {total} approved).{why}"
    )
    if approved == total:
        text += "\n:tada: The Phase 2 backlog is approved: every item."
    return text


def changed_reply(v: ItemView) -> str:
    return f"Done: *{v.item.feature}* is {v.status}; the decision is recorded."


def epics_text(result: EpicsResult) -> str:
    lines = [f"• *{v.item.feature}* → {epic_text(v)}" for v in result.created]
    text = f":jigsaw: Jira epics created: {len(result.created)}\n" + "\n".join(lines)
    if result.failed:
        text += f"\n:x: Stopped at {user_text(result.failed, 400)}. Try *Create epics* again."
    if result.not_approved:
        text += f"\nNot approved yet: {', '.join(result.not_approved)}."
    return text


def epics_reply(result: EpicsResult) -> tuple[str, list[Block]]:
    if not result.created:
        text = f":x: No epic was created: {user_text(result.failed or 'another click has them')}."
        return text, [section(text), context("Try *Create epics* again.")]
    text = epics_text(result)
    return text, [section(text)]


def linked_reply(v: ItemView) -> str:
    return f"Done: *{v.item.feature}* is linked to its {epic_text(v)}."


def risk_register(risks: Sequence[RiskLike]) -> list[Block]:
    """The matrix of the open risks, then every risk with its owner and mitigation."""
    if not risks:
        return [section("*Risk register*\nno risks yet: `/phase2 risk add …`")]
    grid = "\n".join(matrix_lines(risks))
    lines = "\n".join(user_text(risk_line(r), 400) for r in risks)
    return [section(f"*Risk register*\n```{grid}```"), section(lines)]


def risks_message(risks: Sequence[RiskLike]) -> tuple[str, list[Block]]:
    blocks: list[Block] = [HeaderBlock(text="Phase 2 risk register"), *risk_register(risks)]
    blocks.append(context("`/phase2 risk add …` · `/phase2 risk update R2 likelihood=low`"))
    return f"Phase 2 risk register: {len(risks)} risks", blocks


def risk_added(risk: RiskLike) -> str:
    return f"Done: added {user_text(risk_line(risk))}"


def risk_updated(change: RiskChange) -> str:
    fields = ", ".join(
        f"{name} {user_text(before, 80)} → {user_text(after, 80)}"
        for name, (before, after) in change.changed.items()
    )
    return f"Done: R{change.risk.id} updated ({fields}).\n{user_text(risk_line(change.risk))}"


def help_message() -> tuple[str, list[Block]]:
    text = "\n".join(
        [
            "*/phase2* — Phase 2 readiness",
            "`/phase2` — the backlog, with Refine / Approve buttons",
            "`/phase2 refine FEATURE [-- note]` · `/phase2 approve FEATURE [-- note]`",
            "`/phase2 epics` — one Jira epic per approved item (with integrations.jira)",
            "`/phase2 link FEATURE URL` — link an epic made elsewhere",
            "`/phase2 risks` — the risk register and its matrix",
            "`/phase2 risk add TITLE likelihood=high impact=medium owner=sre mitigation=…`",
            "`/phase2 risk update R2 likelihood=low status=closed`",
        ]
    )
    return "/phase2 help", [section(text)]

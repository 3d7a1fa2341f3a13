"""Messages of the rollback surface: the request (updated in place), status, plan, modal."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    DividerBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.ids.rollback import RollbackAction, RollbackBlock, RollbackView
from bot.playbook import Playbook
from bot.rollback.model import (
    ActionOutcome,
    ActionState,
    MttrGoal,
    RequestView,
    step_actions,
    step_fully_done,
)
from bot.rollback.steps import STEP_TITLES
from bot.slack_out.messages.common import context, header, local_time, section, user_text, who
from bot.slack_out.messages.rollback_buttons import button, flag_state, request_buttons
from storage.models import RollbackRequest, RunbookSignature, RunbookStep
from storage.status import RollbackStatus, StepStatus

Status = RollbackStatus
STEP_ICON = {
    StepStatus.PENDING: "▫️",
    StepStatus.RUNNING: ":hourglass_flowing_sand:",
    StepStatus.DONE: ":white_check_mark:",
    StepStatus.SKIPPED: ":fast_forward:",
    StepStatus.FAILED: ":x:",
    StepStatus.WAITING: ":raised_hand:",
}
STATUS_LABEL: dict[str, str] = {
    Status.OPEN: "waiting for sign-off",
    Status.APPROVED: "signed, waiting for another rollback",
    Status.EXECUTING: "running the runbook",
    Status.DONE: "done",
    Status.FAILED: "stopped at a failed step",
    Status.REJECTED: "rejected",
    Status.EXPIRED: "expired",
}
LOCAL = "%Y-%m-%d %H:%M %Z"
HELP = """*`/rollback` — roll the launch back, with Product + Support sign-off*
• `/rollback FLAG [FLAG ...] REASON` — ask for a rollback of the named flags only
• `/rollback [all] REASON` — ask for a rollback of every launch flag
• `/rollback status` — open and recent requests
• `/rollback plan` — the runbook as configured, and its joint sign-off
• `/rollback incident SEV REASON` — declare an incident: on the open request, or (Sev2 or worse) open a critical one
• `/rollback incident ID SEV` — declare the incident severity on a request (Sev2 or worse allows break glass)
• `/rollback reject ID REASON` — reject a request (same as its Reject button)"""


def _who(requested_by: str) -> str:
    if requested_by.startswith("trigger:"):
        return f"trigger `{requested_by.removeprefix('trigger:')}`"
    return who(requested_by)


def request_message(
    view: RequestView, zone: ZoneInfo, goal: MttrGoal | None = None
) -> tuple[str, list[Block]]:
    r = view.request
    title = f"Rollback #{r.id}: {STATUS_LABEL.get(r.status, r.status)}"
    critical = " :rotating_light: *critical*" if r.critical else ""
    sev = f" · Sev{r.incident_severity} declared" if r.incident_severity else ""
    blocks: list[Block] = [
        header(title),
        SectionBlock(
            text=MarkdownTextObject(
                text=f"*Reason:* {user_text(r.reason)}\n*Flags:* {view.flags_text}\n"
                f"*Asked by* {_who(r.requested_by)} at "
                f"{local_time(r.opened_at, zone, '%H:%M %Z')}{critical}{sev}"
            )
        ),
        SectionBlock(
            fields=[
                MarkdownTextObject(
                    text=f"*{flag}*\n{flag_state(t['before'])} → {flag_state(t['after'])}"
                )
                for flag, t in view.targets.items()
            ][:10]
        ),
    ]
    evidence = {k: v for k, v in (r.evidence or {}).items() if k != "flags_before"}
    if evidence:
        shown = " · ".join(f"{k}: {v}" for k, v in evidence.items())
        blocks.append(context(f"Evidence: {shown}"[:1900]))
    blocks.append(section("\n".join(_sign_offs(view, zone))))
    started = (Status.EXECUTING, Status.FAILED, Status.DONE, Status.APPROVED)
    if r.status in started or any(s.status != StepStatus.PENDING for s in view.steps):
        blocks.append(DividerBlock())
        blocks.append(
            section("\n".join(_step_line(i, s) for i, s in enumerate(view.steps, 1))[:2900])
        )
    if view.mttr_seconds is not None:
        blocks.append(context(mttr_text(view.mttr_seconds, goal)))
    buttons = request_buttons(view)
    if buttons:
        blocks.append(ActionsBlock(block_id=RollbackBlock.ACTIONS, elements=buttons))
    footer = _footer(r, zone)
    if footer:
        blocks.append(context(footer))
    return f"Rollback #{r.id} ({r.status}): {user_text(r.reason)}", blocks


def mttr_text(seconds: float, goal: MttrGoal | None) -> str:
    """MTTR in minutes, against the playbook's MTTR goal when it has one."""
    minutes = seconds / 60
    if goal is None:
        return f"MTTR {minutes:.1f} min"
    verdict = "within" if goal.met(minutes) else "OVER"
    return f"MTTR {minutes:.1f} min ({verdict} the {goal.minutes:g} min goal)"


def _sign_offs(view: RequestView, zone: ZoneInfo) -> list[str]:
    lines = []
    for role in view.sign_off_roles:
        a = view.approval_for(role)
        if a is None:
            lines.append(f":hourglass: *{role}*: sign-off needed")
        elif a.decision == "approve":
            late = " (after execution)" if a.after_execution else ""
            lines.append(
                f":white_check_mark: *{role}*: {who(a.user)} at "
                f"{local_time(a.at, zone, '%H:%M')}{late}"
            )
        else:
            lines.append(f":no_entry: *{role}*: rejected by {who(a.user)}: {user_text(a.reason)}")
    if view.request.break_glass_by:
        lines.append(
            f":fire_extinguisher: Executed at once by {who(view.request.break_glass_by)} "
            "(break glass); the sign-offs are still collected."
        )
    return lines


ACTION_ICON = {
    ActionState.DONE: ":white_check_mark:",
    ActionState.SKIPPED: ":fast_forward:",
    ActionState.FAILED: ":x:",
}


def _step_line(number: int, s: RunbookStep) -> str:
    icon = STEP_ICON.get(StepStatus(s.status), "")
    if s.status == StepStatus.DONE and not step_fully_done(s):
        icon = ":warning:"  # finished, but not everything it stands for was done
    line = f"{icon} {number}. {STEP_TITLES[s.name]}"
    seconds = (s.output or {}).get("seconds")
    if s.status in (StepStatus.DONE, StepStatus.SKIPPED) and seconds is not None:
        line += f" ({seconds:.1f} s)"
    if s.done_by:
        line += f" — done by hand by {who(s.done_by)}"
    note = (s.output or {}).get("note")
    if s.status in (StepStatus.SKIPPED, StepStatus.WAITING) and note:
        line += f" — {note}"
    if s.status == StepStatus.FAILED:
        line += f"\n      {s.error}"
    if s.status == StepStatus.RUNNING and s.attempts > 1:
        line += f" (try {s.attempts})"
    for action in step_actions(s):
        line += f"\n      {ACTION_ICON.get(ActionState(action.state), '')} {action_text(action)}"
    return line


def action_text(action: ActionOutcome) -> str:
    """done / skipped: why / failed: why, as the step's record says."""
    if action.state == ActionState.DONE:
        return f"{action.action}: done" + (f" ({action.detail})" if action.detail else "")
    return f"{action.action}: {action.state}: {action.detail}"


def _footer(r: RollbackRequest, zone: ZoneInfo) -> str:
    if r.status == Status.EXPIRED:
        return (
            f"Expired at {local_time(r.expires_at, zone, '%H:%M')} without both "
            "sign-offs; its buttons no longer work. `/rollback REASON` opens a new one."
        )
    if r.status == Status.OPEN:
        return (
            f"Request #{r.id} · expires at {local_time(r.expires_at, zone, '%H:%M %Z')} · "
            "one sign-off per role, two different people, not the requester"
        )
    if r.status == Status.REJECTED:
        return f"Rejected: {user_text(r.closed_reason)}"
    return ""


# ---- the request's thread and war-room posts ---------------------------------------------
def executed_text(view: RequestView, percent: int, segments: list[str]) -> str:
    r = view.request
    text = (
        f":rotating_light: Rollback #{r.id} executed: {', '.join(r.flags)} back to {percent} % "
        f"({', '.join(segments)}). Reason: {user_text(r.reason)}"
    )
    return text + not_done_text(view)


def not_done_text(view: RequestView) -> str:
    """What the runbook did not do (recorded by the communicate step before this post), and
    what to do by hand for each."""
    step = next((s for s in view.steps if s.name == "communicate"), None)
    raw = (step.output or {}).get("not_done") if step is not None else None
    if not raw:
        return ""
    lines = [
        f"• {action_text(a)}" + (f" — by hand: {a.by_hand}" if a.by_hand else "")
        for a in step_actions(
            RunbookStep(request_id=0, position=0, name="", output={"actions": raw})
        )
    ]
    return "\n*Not done by the bot* (do it by hand):\n" + "\n".join(lines)


def step_failed_text(title: str, attempts: int, error: str, by_hand: str) -> str:
    return f":x: Step *{title}* failed after {attempts} tries: {error}\nBy hand: {by_hand}"


def completed_text(mttr_seconds: float | None, goal: MttrGoal | None) -> str:
    mttr = f" {mttr_text(mttr_seconds, goal)}." if mttr_seconds else ""
    return f":white_check_mark: Rollback complete.{mttr}"


def e2e_passed_text(command: str, tail: str) -> str:
    return f"e2e `{command}` passed (exit 0)\n```{tail or '(no output)'}```"


def incident_text(key: str, url: str, severity: int) -> str:
    return f"Incident <{url}|{key}> opened (Sev{severity})."


def postmortem_scheduled_text(at: datetime, zone: ZoneInfo) -> str:
    return f"Post-mortem scheduled for {local_time(at, zone, LOCAL)}."


def postmortem_due_texts(
    view: RequestView, at: datetime, owners: list[str], zone: ZoneInfo
) -> tuple[str, str]:
    """(in the thread, in the war room)"""
    r, mentions = view.request, " ".join(who(o) for o in owners)
    return (
        f":memo: Post-mortem of rollback #{r.id} is due now ({local_time(at, zone, LOCAL)}). "
        f"{mentions}",
        f":memo: Post-mortem of rollback #{r.id} ({user_text(r.reason, 200)}) starts now. {mentions}",
    )


def expired_unsigned_texts(view: RequestView, missing: list[str], oncall: str) -> tuple[str, str]:
    """(in the thread, in the war room) when a critical request expires unsigned."""
    r, roles = view.request, " and ".join(f"`{role}`" for role in missing) or "a role"
    how = "declare the incident (`/rollback incident 2 REASON`) and *Break glass* on its request"
    return (
        f":rotating_light: Expired without the sign-off of {roles} while critical. {oncall}: "
        f"if the rollback is still needed, {how}.",
        f":rotating_light: Rollback #{r.id} ({user_text(r.reason, 200)}) expired without the "
        f"sign-off of {roles}. Escalated to on-call {oncall}: {how}.",
    )


def status_message(views: list[RequestView], zone: ZoneInfo) -> tuple[str, list[Block]]:
    if not views:
        return "No rollback requests yet.", [SectionBlock(text="No rollback requests yet.")]
    lines = []
    for v in views:
        r = v.request
        signed = (
            ", ".join(f"{a.role} ✓" for a in v.approvals if a.decision == "approve")
            or "no sign-off"
        )
        lines.append(
            f"*#{r.id}* {STATUS_LABEL.get(r.status, r.status)} · {v.flags_text} · "
            f"{local_time(r.opened_at, zone, '%d %b %H:%M')} · {signed} — {user_text(r.reason, 200)}"
        )
    return f"{len(views)} rollback request(s)", [
        header("Rollback requests"),
        section("\n".join(lines)),
    ]


def plan_message(
    book: Playbook, version: str, signatures: list[RunbookSignature], zone: ZoneInfo
) -> tuple[str, list[Block]]:
    rb = book.rollback
    signed = {s.role: s for s in signatures}
    sign_lines = [
        f":white_check_mark: *{role}*: {who(signed[role].user)} at {local_time(signed[role].at, zone)}"
        if role in signed
        else f":hourglass: *{role}*: not signed"
        for role in rb.sign_off_roles
    ]
    blocks: list[Block] = [
        header("Rollback runbook"),
        section("\n".join(_plan_steps(book))),
        context(_plan_triggers(book)),
        DividerBlock(),
        SectionBlock(
            text=MarkdownTextObject(
                text=f"*Joint sign-off of this version* (`{version}`)\n" + "\n".join(sign_lines)
            )
        ),
    ]
    if len(signed) < len(rb.sign_off_roles):
        blocks.append(
            ActionsBlock(
                block_id=RollbackBlock.PLAN_ACTIONS,
                elements=[
                    button("Sign this runbook", RollbackAction.SIGN_PLAN, version, "primary")
                ],
            )
        )
    else:
        blocks.append(
            context(
                "Validated jointly. A change to the playbook's rollback section "
                "makes a new version that needs signing again."
            )
        )
    return "Rollback runbook", blocks


def _plan_steps(book: Playbook) -> list[str]:
    rb, integ = book.rollback, book.integrations
    target = f"{rb.target.percent} % ({', '.join(rb.target.segments)})"
    checks = ", ".join(f"{c.metric} {c.op} {c.value:g}" for c in rb.verify.checks) or "none"

    def conf(value: object) -> str:
        return "configured" if value else "not configured (skipped)"

    return [
        "1. *Freeze*: pause the rollout of the flags, block deployments",
        f"2. *Revert*: each flag to {target}",
        f"3. *Empty* the external user rules ({', '.join(book.external_segments)})"
        + ("" if rb.empty_external_user_rules else " — disabled"),
        f"4. *Clear caches*: {', '.join(rb.caches) or 'none'} — {conf(integ.cache_clear_url)}",
        f"5. *Verify*: {checks}; e2e `{rb.verify.e2e_command or 'none'}` (timeout {rb.e2e_timeout_seconds} s)",
        f"6. *Communicate*: war-room post; support email — {conf(integ.email)}; "
        f"maintenance banner — {conf(integ.banner_url)}",
        f"7. *Post-actions*: Sev{rb.post_actions.incident_severity} incident in Jira — "
        f"{conf(integ.jira)}; post-mortem within {rb.post_actions.postmortem_within_hours} h",
    ]


def _plan_triggers(book: Playbook) -> str:
    rb = book.rollback
    triggers = "; ".join(
        f"{t.metric} {t.op} {t.value:g} for {t.for_}"
        if t.metric
        else f"incident Sev{t.incident_severity_at_most} or worse"
        for t in book.triggers
    )
    return (
        f"Triggers: {triggers} · sign-off by {' + '.join(rb.sign_off_roles)} "
        f"within {rb.approval_expires_minutes} min"
    )


def help_message() -> tuple[str, list[Block]]:
    return "How to use /rollback", [section(HELP)]


def reject_modal(request_id: int) -> View:
    return View(
        type="modal",
        callback_id=RollbackView.REJECT,
        private_metadata=str(request_id),
        title=f"Reject rollback #{request_id}"[:24],
        submit="Reject",
        close="Cancel",
        blocks=[
            InputBlock(
                block_id=RollbackBlock.REJECT_REASON,
                label="Why reject it?",
                element=PlainTextInputElement(
                    action_id=RollbackBlock.REJECT_REASON_INPUT, multiline=True, max_length=500
                ),
            )
        ],
    )

"""The App Home view: the war room at a glance, built from a Dashboard."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    DividerBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.completion import Evidence, Link, Person
from bot.home import Dashboard
from bot.ids.home import HomeAction
from bot.reports.render import communications_text
from bot.slack_out.messages.common import context, header, local_time, section, user_text, who
from bot.slack_out.messages.phase2 import MARK, epic_text, risk_register


def _flags(d: Dashboard, zone: ZoneInfo) -> str:
    lines = [
        f"• *{f.name}*: {f.percent} % — {', '.join(f.segments) or 'no segment'}"
        + (" · :no_entry: switched off" if f.switched_off else "")
        + (" · :warning: changed outside warroom" if f.name in d.changed_outside else "")
        for f in d.flags
    ]
    if d.flags_problem:
        lines.append(f":x: {d.flags_problem}")
    if d.freeze.frozen:
        lines.append(
            f":ice_cube: frozen by {who(d.freeze.by)} {local_time(d.freeze.at, zone)}: "
            f"{user_text(d.freeze.reason)}"
        )
    return "*Flags*\n" + "\n".join(lines)


def _provider_health(d: Dashboard) -> Block:
    return context(d.provider_health or "Flag provider: health not read")


def evidence_text(line: Evidence) -> str:
    """One line of a completion item's evidence, people as mentions, links as links."""
    return "".join(
        who(part.user)
        if isinstance(part, Person)
        else f"<{part.url}|{part.label}>"
        if isinstance(part, Link)
        else part
        for part in line
    )


def _listing(title: str, lines: list[str], empty: str) -> str:
    return f"*{title}*\n" + ("\n".join(f"• {line}" for line in lines) or empty)


def _requests(d: Dashboard) -> str:
    lines = [
        f"#{v.request.id} {v.request.status} — {user_text(v.request.reason, 80)} "
        f"(sign-off {sum(1 for r in v.sign_off_roles if v.approval_for(r))}"
        f"/{len(v.sign_off_roles)})"
        for v in d.open_requests
    ]
    return _listing("Open rollback requests", lines, "none")


def _checklists(d: Dashboard, zone: ZoneInfo) -> str:
    lines = [
        f"{local_time(c.fire_at, zone, '%H:%M')} {c.shift}: {c.ticked}/{c.items} ticked, "
        + (f"acknowledged by {who(c.acknowledged_by)}" if c.acknowledged_by else "not acknowledged")
        + (" — ✅ complete" if c.completed else "")
        for c in d.checklists
    ]
    return _listing("Today's checklists", lines, "none posted yet today")


def _upcoming(d: Dashboard, zone: ZoneInfo) -> str:
    lines = [f"{local_time(o.fire_at, zone)} — {o.title}" for o in d.upcoming]
    if d.launch_at is None:
        empty = "nothing scheduled (set the launch time: `/rollout launch`)"
    else:  # T is set and every post of its window is made: the launch's plan is played
        empty = f"none left: the launch window of T ({local_time(d.launch_at, zone)}) is over"
    return _listing("Next scheduled posts", lines, empty)


def _backlog(d: Dashboard) -> str:
    approved = sum(v.status == "approved" for v in d.backlog)
    lines = [f"{v.item.feature} — {MARK[v.status]} · {epic_text(v)}" for v in d.backlog]
    title = f"Phase 2 backlog ({approved} of {len(d.backlog)} approved · `/phase2`)"
    return _listing(title, lines, "none in the playbook")


def _communications(d: Dashboard, zone: ZoneInfo) -> list[Block]:
    if not d.communications:
        return []
    return [
        section(
            "*Launch communications*\n" + "\n".join(communications_text(d.communications, zone))
        )
    ]


def home_view(d: Dashboard, zone: ZoneInfo, name: str, now: datetime) -> View:
    blocks: list[Block] = [
        header("War room"),
        context(f"{name} · updated {local_time(now, zone, '%H:%M:%S %Z')} (reopen to refresh)"),
        section(_flags(d, zone)),
        _provider_health(d),
        section("*KPIs*\n" + "\n".join(d.kpis)),
        section(_requests(d)),
        section(_checklists(d, zone)),
        section(_upcoming(d, zone)),
        section(_backlog(d)),
        *risk_register(d.risks),
        *_communications(d, zone),
        DividerBlock(),
        header("Completion checklist"),
    ]
    for state in d.completion:
        mark = "✅" if state.done else "⬜"
        text = f"{mark} *{state.item.title}*\n" + "\n".join(
            f"   {evidence_text(e)}" for e in state.evidence
        )
        may_confirm = state.needs_confirmation and d.roles & set(state.item.confirm_roles)
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(text=text[:3000]),
                accessory=ButtonElement(
                    text="Confirm",
                    action_id=HomeAction.CONFIRM,
                    value=state.item.key,
                    style="primary",
                )
                if may_confirm
                else None,
            )
        )
    return View(type="home", blocks=blocks[:100])

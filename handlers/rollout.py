"""The /rollout surface: parse, call the rollout service, render."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.errors import Refusal
from bot.ids.rollout import COMMAND, RolloutAction
from bot.metrics.kpis import kpi_lines
from bot.rollout import Change, closest
from bot.services import Services
from bot.slack_out.messages import rollout as messages
from bot.slack_out.messages.common import as_dicts
from bot.slack_out.messages.schedule import schedule_list
from handlers.replies import call_service, ephemeral, for_person

log = logging.getLogger(__name__)

SLASH_COMMANDS = (COMMAND,)
REPORTS = ("daily_report", "executive_report")  # produced by the reports issue
SUBCOMMANDS = ("status", "set", "launch", "freeze", "unfreeze", "history", "schedule", "help")


def split_reason(words: list[str]) -> tuple[list[str], str]:
    """`a b -- why we do it` → (['a', 'b'], 'why we do it')."""
    if "--" in words:
        i = words.index("--")
        return words[:i], " ".join(words[i + 1 :])
    return words, ""


async def confirm(respond: AsyncRespond, services: Services, change: Change) -> None:
    channel = services.playbook.channels.war_room
    await ephemeral(
        respond, *messages.change_confirmation(change.record, change.announced, channel)
    )


async def run_subcommand(services: Services, user: str, text: str, respond: AsyncRespond) -> None:
    rollout, zone = services.rollout, services.playbook.zone
    words = text.split()
    sub, args = (words[0].lower(), words[1:]) if words else ("status", [])
    if sub == "help":
        await ephemeral(respond, *messages.help_message())
    elif sub == "status":
        status, upcoming, kpis = await call_service(
            lambda: (
                rollout.status(),
                services.schedule.upcoming(1),
                kpi_lines(services.playbook, services.evaluator.reader),
            )
        )
        next_post = (upcoming[0].fire_at, upcoming[0].title) if upcoming else None
        await ephemeral(respond, *messages.status_message(status, zone, next_post, kpis))
    elif sub == "schedule":
        upcoming = await call_service(services.schedule.upcoming, 20)
        hooks = services.schedule.hooks
        rows = [
            (
                o.fire_at,
                o.title
                if o.kind not in REPORTS or o.kind in hooks
                else f"{o.title} — no producer yet",
            )
            for o in upcoming
        ]
        await ephemeral(respond, *schedule_list(rows, zone))
    elif sub == "history":
        records = await call_service(rollout.history, args[0] if args else None)
        await ephemeral(respond, *messages.history_message(records, zone))
    elif sub == "set":
        values, reason = split_reason(args)
        if not 2 <= len(values) <= 3:
            raise Refusal(
                "`set` needs a flag and a percentage.",
                "Try `/rollout set SMART_PRICING 25 external_beta -- reason`.",
            )
        change = await call_service(rollout.set_flag, user, *values, reason=reason)
        await confirm(respond, services, change)
    elif sub == "launch":
        values, reason = split_reason(args)
        change = await call_service(rollout.launch, user, " ".join(values), reason)
        await confirm(respond, services, change)
    elif sub == "freeze":
        change = await call_service(rollout.freeze, user, " ".join(args))
        await confirm(respond, services, change)
    elif sub == "unfreeze":
        change = await call_service(rollout.unfreeze, user, " ".join(args))
        await confirm(respond, services, change)
    else:
        guess = closest(sub, list(SUBCOMMANDS))
        raise Refusal(
            f"Unknown subcommand `{sub}`." + (f" Did you mean `{guess}`?" if guess else ""),
            f"Known: {', '.join(SUBCOMMANDS)}. `/rollout help` explains each.",
        )


async def handle_rollout_command(
    ack: AsyncAck, command: dict, respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    await ack()  # Slack's 3 s deadline: acknowledge first, work after
    user, text = command["user_id"], command.get("text", "").strip()
    where = f"{COMMAND} {text.split()[0] if text else 'status'}"
    await for_person(
        respond, where, user, lambda: run_subcommand(context["services"], user, text, respond)
    )


async def handle_unfreeze_button(
    ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    await ack()
    services: Services = context["services"]
    user = body["user"]["id"]
    ok, change = await for_person(
        respond,
        RolloutAction.UNFREEZE,
        user,
        lambda: call_service(
            services.rollout.unfreeze, user, "via the Unfreeze button", int(action["value"])
        ),
    )
    if not ok or change is None:
        return
    text, blocks = messages.freeze_lifted_note(change.record, services.playbook.zone)
    await respond(replace_original=True, text=text, blocks=as_dicts(blocks))


def register(app: AsyncApp) -> None:
    app.command(COMMAND)(handle_rollout_command)
    app.action(RolloutAction.UNFREEZE)(handle_unfreeze_button)

"""The /rollback surface: the command, the request's buttons, the reject modal."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import Refusal
from bot.ids.rollback import COMMAND, RollbackAction, RollbackBlock, RollbackView
from bot.observability import log_event
from bot.services import Services
from bot.slack_out.messages import rollback as messages
from handlers.replies import call_service, ephemeral, for_person

log = logging.getLogger(__name__)

SLASH_COMMANDS = (COMMAND,)
KEYWORDS = ("status", "plan", "help", "incident", "reject")


def _request_id(text: str, usage: str) -> int:
    if not text.lstrip("#").isdigit():
        raise Refusal(f"`{text}` is not a rollback request number.", f"Try `{usage}`.")
    return int(text.lstrip("#"))


async def run_subcommand(services: Services, user: str, text: str, respond: AsyncRespond) -> None:
    rollback, zone = services.rollback, services.playbook.zone
    words = text.split()
    first = words[0].lower() if words else "help"
    if first == "help":
        await ephemeral(respond, *messages.help_message())
    elif first == "status":
        views = await call_service(rollback.recent, 8)
        await ephemeral(respond, *messages.status_message(views, zone))
    elif first == "plan":
        version = rollback.plan_version()
        signatures = await call_service(rollback.plan_signatures)
        await ephemeral(
            respond, *messages.plan_message(services.playbook, version, signatures, zone)
        )
    elif first == "incident":
        if len(words) != 3:
            raise Refusal(
                "`incident` needs a request number and a severity.", "Try `/rollback incident 3 2`."
            )
        view = await call_service(
            rollback.declare_incident,
            _request_id(words[1], "/rollback incident 3 2"),
            user,
            words[2],
        )
        await ephemeral(
            respond, f"Sev{view.request.incident_severity} recorded on #{view.request.id}.", []
        )
    elif first == "reject":
        if len(words) < 3:
            raise Refusal(
                "`reject` needs a request number and a reason.",
                "Try `/rollback reject 3 error rate already recovering`.",
            )
        request_id = _request_id(words[1], "/rollback reject 3 REASON")
        await call_service(rollback.reject, request_id, user, " ".join(words[2:]))
        await ephemeral(respond, f"Rollback #{request_id} rejected.", [])
    else:
        view = await call_service(rollback.open, user, words)
        await ephemeral(
            respond,
            f"Rollback #{view.request.id} opened in "
            f"{services.playbook.channels.war_room}; it needs the sign-off "
            f"of {' and '.join(view.sign_off_roles)}.",
            [],
        )


async def handle_rollback_command(
    ack: AsyncAck, command: dict, respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    await ack()
    user, text = command["user_id"], command.get("text", "").strip()
    where = f"{COMMAND} {text.split()[0] if text else 'help'}"
    await for_person(
        respond, where, user, lambda: run_subcommand(context["services"], user, text, respond)
    )


def _run_request_button(services: Services, action_id: str, value: str, user: str) -> object:
    request_id = int(value)
    return {
        RollbackAction.APPROVE: lambda: services.rollback.approve(request_id, user),
        RollbackAction.BREAK_GLASS: lambda: services.rollback.break_glass(request_id, user),
        RollbackAction.RETRY_STEP: lambda: services.runbook.retry(request_id, user),
        RollbackAction.STEP_BY_HAND: lambda: services.runbook.done_by_hand(request_id, user),
        RollbackAction.CONFIRM_METRICS: lambda: services.runbook.confirm_metrics(request_id, user),
    }[RollbackAction(action_id)]()


async def handle_request_button(
    ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    """Approve, break glass, retry, done by hand, metrics OK: each acts on the request id the
    button carries; the service decides whether that is still possible."""
    await ack()
    services: Services = context["services"]
    user, action_id = body["user"]["id"], action["action_id"]
    await for_person(
        respond,
        action_id,
        user,
        lambda: call_service(_run_request_button, services, action_id, action["value"], user),
        request=action["value"],
    )


async def handle_reject_button(
    ack: AsyncAck,
    body: dict,
    action: dict,
    client: AsyncWebClient,
    respond: AsyncRespond,
    context: AsyncBoltContext,
) -> None:
    await ack()
    await client.views_open(
        trigger_id=body["trigger_id"], view=messages.reject_modal(int(action["value"]))
    )


async def handle_reject_submission(
    ack: AsyncAck, body: dict, view: dict, context: AsyncBoltContext
) -> None:
    services: Services = context["services"]
    user = body["user"]["id"]
    reason = (
        view["state"]["values"][RollbackBlock.REJECT_REASON][RollbackBlock.REJECT_REASON_INPUT][
            "value"
        ]
        or ""
    )
    try:
        await call_service(services.rollback.reject, int(view["private_metadata"]), user, reason)
    except Refusal as error:  # shown on the modal itself, next to the field
        await ack(response_action="errors", errors={RollbackBlock.REJECT_REASON: str(error)[:150]})
        return
    await ack()
    log_event(log, RollbackView.REJECT, who=user, outcome="ok")


async def handle_sign_plan(
    ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    await ack()
    services: Services = context["services"]
    user = body["user"]["id"]
    ok, signatures = await for_person(
        respond,
        RollbackAction.SIGN_PLAN,
        user,
        lambda: call_service(services.rollback.sign_plan, user, action["value"]),
    )
    if not ok or signatures is None:
        return
    await ephemeral(
        respond,
        *messages.plan_message(
            services.playbook, action["value"], signatures, services.playbook.zone
        ),
    )


def register(app: AsyncApp) -> None:
    app.command(COMMAND)(handle_rollback_command)
    for action in (
        RollbackAction.APPROVE,
        RollbackAction.BREAK_GLASS,
        RollbackAction.RETRY_STEP,
        RollbackAction.STEP_BY_HAND,
        RollbackAction.CONFIRM_METRICS,
    ):
        app.action(action)(handle_request_button)
    app.action(RollbackAction.REJECT)(handle_reject_button)
    app.view(RollbackView.REJECT)(handle_reject_submission)
    app.action(RollbackAction.SIGN_PLAN)(handle_sign_plan)

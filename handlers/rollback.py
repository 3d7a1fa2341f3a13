"""The /rollback surface: the command, the request's buttons, the reject modal."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import Refusal
from bot.ids.rollback import COMMAND, RollbackAction, RollbackBlock, RollbackView
from bot.observability import log_event
from bot.playbook import Playbook
from bot.rollback import requests
from bot.rollback.runner import RunbookRunner
from bot.rollback.service import RollbackService
from bot.slack_out.messages import rollback as messages
from handlers.replies import call_service, ephemeral, for_person, reply_error

log = logging.getLogger(__name__)

SLASH_COMMANDS = (COMMAND,)
KEYWORDS = ("status", "plan", "help", "incident", "reject")
REQUEST_BUTTONS = (
    RollbackAction.APPROVE,
    RollbackAction.BREAK_GLASS,
    RollbackAction.RETRY_STEP,
    RollbackAction.STEP_BY_HAND,
    RollbackAction.CONFIRM_METRICS,
)


def _request_id(text: str, usage: str) -> int:
    try:
        return requests.parse_request_id(text)
    except Refusal as refusal:
        raise Refusal(refusal.message, f"Try `{usage}`.") from None


def _severity_like(word: str) -> bool:
    return word.lower().removeprefix("sev").isdigit()


class RollbackSurface:
    def __init__(
        self, rollback: RollbackService, runbook: RunbookRunner, playbook: Playbook
    ) -> None:
        self.rollback = rollback
        self.runbook = runbook
        self.playbook = playbook
        self.buttons: dict[str, Callable[[int, str], object]] = {
            RollbackAction.APPROVE: rollback.approve,
            RollbackAction.BREAK_GLASS: rollback.break_glass,
            RollbackAction.RETRY_STEP: runbook.retry,
            RollbackAction.STEP_BY_HAND: runbook.done_by_hand,
            RollbackAction.CONFIRM_METRICS: runbook.confirm_metrics,
        }

    # ---- listeners -----------------------------------------------------------------------
    async def command(self, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user, text = command["user_id"], command.get("text", "").strip()
        where = f"{COMMAND} {text.split()[0] if text else 'help'}"
        await for_person(respond, where, user, lambda: self._subcommand(user, text, respond))

    async def request_button(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        """Approve, break glass, retry, done by hand, metrics OK: each acts on the request id
        the button carries; the service decides whether that is still possible."""
        await ack()
        user, action_id, value = body["user"]["id"], action["action_id"], action["value"]
        act = self.buttons[RollbackAction(action_id)]
        await for_person(
            respond,
            action_id,
            user,
            lambda: call_service(act, requests.parse_request_id(value), user),
            request=str(value)[:20],
        )

    async def reject_button(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
    ) -> None:
        await ack()
        try:
            request_id = requests.parse_request_id(action.get("value"))
        except Refusal as refusal:
            await reply_error(respond, refusal, RollbackAction.REJECT, body["user"]["id"])
            return
        await client.views_open(
            trigger_id=body["trigger_id"], view=messages.reject_modal(request_id)
        )

    async def reject_submission(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        user = body["user"]["id"]
        field = view["state"]["values"][RollbackBlock.REJECT_REASON]
        reason = field[RollbackBlock.REJECT_REASON_INPUT]["value"] or ""
        try:
            request_id = requests.parse_request_id(view.get("private_metadata"))
            await call_service(self.rollback.reject, request_id, user, reason)
        except Refusal as error:  # shown on the modal itself, next to the field
            errors = {str(RollbackBlock.REJECT_REASON): str(error)[:150]}
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        log_event(log, RollbackView.REJECT, who=user, outcome="ok")

    async def sign_plan(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        user, version = body["user"]["id"], action["value"]
        ok, signatures = await for_person(
            respond,
            RollbackAction.SIGN_PLAN,
            user,
            lambda: call_service(self.rollback.sign_plan, user, version),
        )
        if ok and signatures is not None:
            plan = messages.plan_message(self.playbook, version, signatures, self.playbook.zone)
            await ephemeral(respond, *plan)

    # ---- the subcommands -----------------------------------------------------------------
    async def _subcommand(self, user: str, text: str, respond: AsyncRespond) -> None:
        words = text.split()
        first = words[0].lower() if words else "help"
        handlers: dict[str, Callable[[str, list[str], AsyncRespond], Awaitable[None]]] = {
            "help": self._help,
            "status": self._status,
            "plan": self._plan,
            "incident": self._incident,
            "reject": self._reject,
        }
        await handlers.get(first, self._open)(user, words, respond)

    async def _help(self, user: str, words: list[str], respond: AsyncRespond) -> None:
        await ephemeral(respond, *messages.help_message())

    async def _status(self, user: str, words: list[str], respond: AsyncRespond) -> None:
        views = await call_service(self.rollback.recent, 8)
        await ephemeral(respond, *messages.status_message(views, self.playbook.zone))

    async def _plan(self, user: str, words: list[str], respond: AsyncRespond) -> None:
        version = self.rollback.plan_version()
        signatures = await call_service(self.rollback.plan_signatures)
        plan = messages.plan_message(self.playbook, version, signatures, self.playbook.zone)
        await ephemeral(respond, *plan)

    async def _incident(self, user: str, words: list[str], respond: AsyncRespond) -> None:
        """`incident ID SEV` marks a request; `incident SEV REASON` declares one now."""
        if len(words) < 2:
            raise Refusal(
                "`incident` needs a severity (and a request number to mark an existing one).",
                "Try `/rollback incident 2 checkout down` or `/rollback incident 3 2`.",
            )
        if (len(words) == 3 and _severity_like(words[2])) or not _severity_like(words[1]):
            request_id = _request_id(words[1], "/rollback incident 3 2")
            view = await call_service(self.rollback.declare_incident, request_id, user, words[2])
        else:
            view = await call_service(
                self.rollback.declare_new_incident, user, words[1], " ".join(words[2:])
            )
        severity, shown = view.request.incident_severity, view.request.id
        await ephemeral(respond, f"Sev{severity} recorded on rollback #{shown}.", [])

    async def _reject(self, user: str, words: list[str], respond: AsyncRespond) -> None:
        if len(words) < 3:
            raise Refusal(
                "`reject` needs a request number and a reason.",
                "Try `/rollback reject 3 error rate already recovering`.",
            )
        request_id = _request_id(words[1], "/rollback reject 3 REASON")
        await call_service(self.rollback.reject, request_id, user, " ".join(words[2:]))
        await ephemeral(respond, f"Rollback #{request_id} rejected.", [])

    async def _open(self, user: str, words: list[str], respond: AsyncRespond) -> None:
        view = await call_service(self.rollback.open, user, words)
        await ephemeral(
            respond,
            f"Rollback #{view.request.id} ({view.flags_text}) opened in "
            f"{self.playbook.channels.war_room}; it needs the sign-off of "
            f"{' and '.join(view.sign_off_roles)}.",
            [],
        )


def register(
    app: AsyncApp, *, rollback: RollbackService, runbook: RunbookRunner, playbook: Playbook
) -> None:
    surface = RollbackSurface(rollback, runbook, playbook)
    app.command(COMMAND)(surface.command)
    for action in REQUEST_BUTTONS:
        app.action(action)(surface.request_button)
    app.action(RollbackAction.REJECT)(surface.reject_button)
    app.view(RollbackView.REJECT)(surface.reject_submission)
    app.action(RollbackAction.SIGN_PLAN)(surface.sign_plan)

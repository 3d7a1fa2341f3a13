"""The /phase2 surface: the backlog and its Refine / Approve / Create epics buttons, the risk
register. Parse, call the Phase 2 services, render."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.errors import Refusal
from bot.ids.phase2 import COMMAND, Phase2Action
from bot.phase2 import BacklogService, ItemView, RiskService
from bot.playbook import Playbook
from bot.rollout import closest
from bot.slack_out.messages import phase2 as messages
from bot.slack_out.messages.common import as_dicts
from handlers.replies import call_service, ephemeral, for_person, reply
from handlers.rollout import split_reason

SLASH_COMMANDS = (COMMAND,)
SUBCOMMANDS = ("backlog", "refine", "approve", "epics", "link", "risks", "risk", "help")

Subcommand = Callable[[str, list[str], AsyncRespond], Awaitable[None]]


class Phase2Surface:
    def __init__(self, backlog: BacklogService, risks: RiskService, playbook: Playbook) -> None:
        self.backlog = backlog
        self.risks = risks
        self.playbook = playbook
        self.subcommands: dict[str, Subcommand] = {
            "backlog": self._backlog,
            "refine": self._refine,
            "approve": self._approve,
            "epics": self._epics,
            "link": self._link,
            "risks": self._risks,
            "risk": self._risk,
            "help": self._help,
        }

    # ---- listeners -----------------------------------------------------------------------
    async def command(self, ack: AsyncAck, command: dict, respond: AsyncRespond) -> None:
        await ack()
        user, text = command["user_id"], command.get("text", "").strip()
        where = f"{COMMAND} {text.split()[0] if text else 'backlog'}"
        await for_person(respond, where, user, lambda: self.run(user, text, respond))

    async def step_button(
        self, ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond
    ) -> None:
        """Refine or Approve on the backlog message: the item is in the button's value."""
        await ack()
        user, feature = body["user"]["id"], action["value"]
        move = (
            self.backlog.approve
            if action["action_id"] == Phase2Action.APPROVE
            else self.backlog.refine
        )
        ok, view = await for_person(
            respond, action["action_id"], user, lambda: call_service(move, user, feature)
        )
        if ok and view is not None:
            await self._show_backlog(respond, replace=True)

    async def epics_button(self, ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await ack()
        user = body["user"]["id"]
        ok, result = await for_person(
            respond, Phase2Action.EPICS, user, lambda: call_service(self.backlog.create_epics, user)
        )
        if ok and result is not None:
            await ephemeral(respond, *messages.epics_reply(result))
            await self._show_backlog(respond, replace=True)

    # ---- subcommands ---------------------------------------------------------------------
    async def run(self, user: str, text: str, respond: AsyncRespond) -> None:
        words = text.split()
        sub, args = (words[0].lower(), words[1:]) if words else ("backlog", [])
        subcommand = self.subcommands.get(sub)
        if subcommand is None:
            guess = closest(sub, list(SUBCOMMANDS))
            raise Refusal(
                f"Unknown subcommand `{sub}`." + (f" Did you mean `{guess}`?" if guess else ""),
                f"Known: {', '.join(SUBCOMMANDS)}. `/phase2 help` explains each.",
            )
        await subcommand(user, args, respond)

    async def _show_backlog(self, respond: AsyncRespond, replace: bool = False) -> None:
        views = await call_service(self.backlog.items)
        jira = self.playbook.integrations.jira is not None
        text, blocks = messages.backlog_message(self.playbook, views, jira)
        if replace:  # the backlog message the button was on, brought up to date
            await reply(respond, replace_original=True, text=text, blocks=as_dicts(blocks))
        else:
            await ephemeral(respond, text, blocks)

    async def _backlog(self, user: str, args: list[str], respond: AsyncRespond) -> None:
        await self._show_backlog(respond)

    async def _refine(self, user: str, args: list[str], respond: AsyncRespond) -> None:
        await self._move(self.backlog.refine, "refine", user, args, respond)

    async def _approve(self, user: str, args: list[str], respond: AsyncRespond) -> None:
        await self._move(self.backlog.approve, "approve", user, args, respond)

    async def _move(
        self,
        move: Callable[[str, str, str], ItemView],
        verb: str,
        user: str,
        args: list[str],
        respond: AsyncRespond,
    ) -> None:
        values, note = split_reason(args)
        if len(values) != 1:
            raise Refusal(
                f"`{verb}` needs one feature of the backlog.",
                f"Try `/phase2 {verb} LOGISTICS_TRACKING -- why`.",
            )
        view = await call_service(move, user, values[0], note)
        await ephemeral(respond, messages.changed_reply(view), [])

    async def _epics(self, user: str, args: list[str], respond: AsyncRespond) -> None:
        result = await call_service(self.backlog.create_epics, user)
        await ephemeral(respond, *messages.epics_reply(result))

    async def _link(self, user: str, args: list[str], respond: AsyncRespond) -> None:
        if len(args) != 2:
            raise Refusal(
                "`link` needs a feature and the epic's address.",
                "Try `/phase2 link LOGISTICS_TRACKING https://jira.example.com/browse/OPS-7`.",
            )
        view = await call_service(self.backlog.link_epic, user, args[0], args[1])
        await ephemeral(respond, messages.linked_reply(view), [])

    async def _risks(self, user: str, args: list[str], respond: AsyncRespond) -> None:
        await ephemeral(respond, *messages.risks_message(await call_service(self.risks.risks)))

    async def _risk(self, user: str, args: list[str], respond: AsyncRespond) -> None:
        verb = args[0].lower() if args else ""
        if verb == "add":
            risk = await call_service(self.risks.add, user, " ".join(args[1:]))
            await ephemeral(respond, messages.risk_added(risk), [])
        elif verb == "update" and len(args) >= 2:
            change = await call_service(self.risks.update, user, args[1], " ".join(args[2:]))
            await ephemeral(respond, messages.risk_updated(change), [])
        elif verb in ("", "list"):
            await self._risks(user, args, respond)
        else:
            raise Refusal(
                "`risk` takes `add TITLE field=value…` or `update R2 field=value…`.",
                "`/phase2 help` shows examples.",
            )

    async def _help(self, user: str, args: list[str], respond: AsyncRespond) -> None:
        await ephemeral(respond, *messages.help_message())


def register(
    app: AsyncApp, *, backlog: BacklogService, risks: RiskService, playbook: Playbook
) -> None:
    surface = Phase2Surface(backlog, risks, playbook)
    app.command(COMMAND)(surface.command)
    app.action(Phase2Action.REFINE)(surface.step_button)
    app.action(Phase2Action.APPROVE)(surface.step_button)
    app.action(Phase2Action.EPICS)(surface.epics_button)

"""The /rollout surface: parse, call the rollout service, render."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.cadence.planner import Planner
from bot.errors import Refusal
from bot.ids.rollout import COMMAND, RolloutAction
from bot.playbook import Playbook
from bot.rollout import Change, RolloutService, closest
from bot.slack_out.messages import rollout as messages
from bot.slack_out.messages.common import as_dicts, context
from bot.slack_out.messages.decisions import history_message
from bot.slack_out.messages.schedule import already_past_text, schedule_list
from bot.slack_out.outbox import is_handle
from handlers.replies import call_service, ephemeral, for_person

SLASH_COMMANDS = (COMMAND,)
SUBCOMMANDS = ("status", "set", "launch", "freeze", "unfreeze", "history", "schedule", "help")

Subcommand = Callable[[str, list[str], AsyncRespond], Awaitable[None]]


def split_reason(words: list[str]) -> tuple[list[str], str]:
    """`a b -- why we do it` → (['a', 'b'], 'why we do it')."""
    if "--" in words:
        i = words.index("--")
        return words[:i], " ".join(words[i + 1 :])
    return words, ""


class RolloutSurface:
    """The /rollout command and the Unfreeze button."""

    def __init__(
        self,
        *,
        rollout: RolloutService,
        planner: Planner,
        playbook: Playbook,
        kpis: Callable[[], list[str]],
    ) -> None:
        self.rollout = rollout
        self.planner = planner
        self.playbook = playbook
        self.kpis = kpis
        self.subcommands: dict[str, Subcommand] = {
            "help": self._help,
            "status": self._status,
            "schedule": self._schedule,
            "history": self._history,
            "set": self._set,
            "launch": self._launch,
            "freeze": self._freeze,
            "unfreeze": self._unfreeze,
        }

    # ---- listeners -----------------------------------------------------------------------
    async def command(self, ack: AsyncAck, command: dict, respond: AsyncRespond) -> None:
        await ack()  # Slack's 3 s deadline: acknowledge first, work after
        user, text = command["user_id"], command.get("text", "").strip()
        where = f"{COMMAND} {text.split()[0] if text else 'status'}"
        await for_person(respond, where, user, lambda: self.run(user, text, respond))

    async def unfreeze_button(
        self, ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond
    ) -> None:
        await ack()
        user = body["user"]["id"]
        ok, change = await for_person(
            respond,
            RolloutAction.UNFREEZE,
            user,
            lambda: call_service(
                self.rollout.unfreeze, user, "via the Unfreeze button", int(action["value"])
            ),
        )
        if not ok or change is None:
            return
        text, blocks = messages.freeze_lifted_note(change.record, self.playbook.zone)
        await respond(replace_original=True, text=text, blocks=as_dicts(blocks))

    # ---- subcommands ---------------------------------------------------------------------
    async def run(self, user: str, text: str, respond: AsyncRespond) -> None:
        words = text.split()
        sub, args = (words[0].lower(), words[1:]) if words else ("status", [])
        subcommand = self.subcommands.get(sub)
        if subcommand is None:
            guess = closest(sub, list(SUBCOMMANDS))
            raise Refusal(
                f"Unknown subcommand `{sub}`." + (f" Did you mean `{guess}`?" if guess else ""),
                f"Known: {', '.join(SUBCOMMANDS)}. `/rollout help` explains each.",
            )
        await subcommand(user, args, respond)

    async def _help(self, user: str, args: list[str], respond: AsyncRespond) -> None:
        await ephemeral(respond, *messages.help_message())

    async def _status(self, user: str, args: list[str], respond: AsyncRespond) -> None:
        status, upcoming, kpis = await call_service(
            lambda: (self.rollout.status(), self.planner.upcoming(1), self.kpis())
        )
        next_post = (upcoming[0].fire_at, upcoming[0].title) if upcoming else None
        await ephemeral(
            respond, *messages.status_message(status, self.playbook.zone, next_post, kpis)
        )

    async def _schedule(self, user: str, args: list[str], respond: AsyncRespond) -> None:
        upcoming = await call_service(
            self.planner.upcoming, 1000
        )  # all: the reply says how many more
        rows = [(o.fire_at, o.title) for o in upcoming]
        await ephemeral(respond, *schedule_list(rows, self.playbook.zone))

    async def _history(self, user: str, args: list[str], respond: AsyncRespond) -> None:
        records = await call_service(self.rollout.history, args[0] if args else None)
        await ephemeral(respond, *history_message(records, self.playbook.zone))

    async def _set(self, user: str, args: list[str], respond: AsyncRespond) -> None:
        values, reason = split_reason(args)
        if not 2 <= len(values) <= 3:
            raise Refusal(
                "`set` needs a flag and a percentage.",
                "Try `/rollout set SMART_PRICING 25 external_beta -- reason`.",
            )
        change = await call_service(self.rollout.set_flag, user, *values, reason=reason)
        await self._confirm(respond, change)

    async def _launch(self, user: str, args: list[str], respond: AsyncRespond) -> None:
        values, reason = split_reason(args)
        change = await call_service(self.rollout.launch, user, " ".join(values), reason)
        past = await call_service(self.planner.already_past)
        await self._confirm(respond, change, already_past_text(past) if past else "")

    async def _freeze(self, user: str, args: list[str], respond: AsyncRespond) -> None:
        change = await call_service(self.rollout.freeze, user, " ".join(args))
        await self._confirm(respond, change)

    async def _unfreeze(self, user: str, args: list[str], respond: AsyncRespond) -> None:
        change = await call_service(self.rollout.unfreeze, user, " ".join(args))
        await self._confirm(respond, change)

    async def _confirm(self, respond: AsyncRespond, change: Change, note: str = "") -> None:
        channel = self.playbook.channels.war_room
        queued = is_handle(change.announcement or "")
        text, blocks = messages.change_confirmation(
            change.record, change.announced, channel, queued
        )
        if note:  # e.g. the posts already past when T was set
            text, blocks = f"{text}\n{note}", [*blocks, context(note)]
        await ephemeral(respond, text, blocks)


def register(
    app: AsyncApp,
    *,
    rollout: RolloutService,
    planner: Planner,
    playbook: Playbook,
    kpis: Callable[[], list[str]],
) -> None:
    """`kpis`: today's KPI lines for the status reply (empty without a metrics source)."""
    surface = RolloutSurface(rollout=rollout, planner=planner, playbook=playbook, kpis=kpis)
    app.command(COMMAND)(surface.command)
    app.action(RolloutAction.UNFREEZE)(surface.unfreeze_button)

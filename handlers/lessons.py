"""The lessons-learned surface: `/lesson TEXT` and the message shortcut "Add to lessons
learned" capture a lesson (author and link); `/lesson list` shows them by heading with
*Publish*; the receipt's buttons move a lesson to another heading."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.ids.lessons import COMMAND, SHORTCUT, LessonAction
from bot.phase2 import LessonService
from bot.playbook import Playbook
from bot.slack_out.messages import lessons as messages
from handlers.replies import call_service, ephemeral, for_person, permalink
from storage.models import Lesson

SLASH_COMMANDS = (COMMAND,)
SHORTCUTS = (SHORTCUT,)
LESSON_REF = re.compile(r"^[Ll]?\d+$")

Subcommand = Callable[[str, list[str], AsyncRespond], Awaitable[None]]


class LessonSurface:
    def __init__(self, lessons: LessonService, playbook: Playbook) -> None:
        self.lessons = lessons
        self.playbook = playbook

    # ---- listeners -----------------------------------------------------------------------
    async def command(self, ack: AsyncAck, command: dict, respond: AsyncRespond) -> None:
        await ack()
        user, text = command["user_id"], command.get("text", "").strip()
        sub, args, run = self.parse(text)
        await for_person(respond, f"{COMMAND} {sub}", user, lambda: run(user, args, respond))

    async def add_message(
        self, ack: AsyncAck, shortcut: dict, client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        user = shortcut["user"]["id"]
        message, channel = shortcut["message"], shortcut["channel"]["id"]

        async def add() -> tuple:
            await call_service(self.lessons.require_adder, user)  # before any Slack call
            link = await permalink(client, channel, message["ts"])
            return await call_service(
                self.lessons.add,
                user,
                message.get("text", ""),
                author=message.get("user") or message.get("bot_id") or "",
                link=link,
                source=f"{channel}:{message['ts']}",
            )

        ok, added = await for_person(respond, SHORTCUT, user, add)
        if ok and added:
            await self._receipt(respond, *added)

    async def move_button(
        self, ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond
    ) -> None:
        await ack()
        user = body["user"]["id"]
        ref, _, heading = action["value"].partition(":")
        ok, lesson = await for_person(
            respond,
            LessonAction.MOVE,
            user,
            lambda: call_service(self.lessons.move, user, ref, heading),
        )
        if ok and lesson is not None:
            shown = self.playbook.lessons.heading(lesson.heading)
            assert shown is not None
            await ephemeral(respond, messages.moved_reply(lesson, shown), [])

    async def publish_button(self, ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await ack()
        user = body["user"]["id"]
        await for_person(
            respond, LessonAction.PUBLISH, user, lambda: self._publish(user, [], respond)
        )

    # ---- subcommands ---------------------------------------------------------------------
    def parse(self, text: str) -> tuple[str, list[str], Subcommand]:
        """A subcommand only in its exact shape; any other text is a lesson to add (so a
        lesson may start with "remove" or "publish")."""
        words = text.split()
        first = words[0].lower() if words else "list"
        args = words[1:]
        shapes: dict[str, tuple[bool, Subcommand]] = {
            "list": (not args, self._list),
            "help": (not args, self._help),
            "publish": (not args, self._publish),
            "move": (len(args) == 2 and bool(LESSON_REF.match(args[0])), self._move),
            "remove": (len(args) == 1 and bool(LESSON_REF.match(args[0])), self._remove),
        }
        fits, run = shapes.get(first, (False, self._add))
        return (first, args, run) if fits else ("add", words, self._add)

    async def _receipt(self, respond: AsyncRespond, lesson: Lesson, new: bool) -> None:
        heading = self.playbook.lessons.heading(lesson.heading)
        assert heading is not None
        await ephemeral(respond, *messages.added_reply(lesson, heading, new, self.playbook.lessons))

    async def _add(self, user: str, words: list[str], respond: AsyncRespond) -> None:
        lesson, new = await call_service(self.lessons.add, user, " ".join(words))
        await self._receipt(respond, lesson, new)

    async def _list(self, user: str, args: list[str], respond: AsyncRespond) -> None:
        doc = await call_service(self.lessons.document)
        await ephemeral(respond, *messages.lessons_list(doc, self.playbook.zone))

    async def _publish(self, user: str, args: list[str], respond: AsyncRespond) -> None:
        result = await call_service(self.lessons.publish, user)
        await ephemeral(respond, *messages.published_reply(result))

    async def _move(self, user: str, args: list[str], respond: AsyncRespond) -> None:
        lesson = await call_service(self.lessons.move, user, args[0], args[1])
        heading = self.playbook.lessons.heading(lesson.heading)
        assert heading is not None
        await ephemeral(respond, messages.moved_reply(lesson, heading), [])

    async def _remove(self, user: str, args: list[str], respond: AsyncRespond) -> None:
        lesson = await call_service(self.lessons.remove, user, args[0])
        await ephemeral(respond, messages.removed_reply(lesson), [])

    async def _help(self, user: str, args: list[str], respond: AsyncRespond) -> None:
        await ephemeral(respond, *messages.help_message())


def register(app: AsyncApp, *, lessons: LessonService, playbook: Playbook) -> None:
    surface = LessonSurface(lessons, playbook)
    app.command(COMMAND)(surface.command)
    app.shortcut(SHORTCUT)(surface.add_message)
    app.action(re.compile("^" + re.escape(LessonAction.MOVE)))(surface.move_button)
    app.action(LessonAction.PUBLISH)(surface.publish_button)

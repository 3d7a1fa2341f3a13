"""`warroom local`: the real app and handlers, an in-process Slack, a terminal.

You type slash commands as a chosen user; the bot's posts and ephemeral replies are
rendered readably; buttons and menus are numbered (`click N`, `choose N OPTION`) and
checklist items ticked with `tick N`. Nothing leaves the machine: the Slack Web API is a
loopback stand-in and the flags live in SQLite.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from datetime import timedelta
from typing import Any, TextIO

from pydantic import SecretStr
from slack_bolt.request.async_request import AsyncBoltRequest
from sqlalchemy.engine import make_url

from bot.app import build_app
from bot.clock import OffsetClock
from bot.local import payloads
from bot.local.commands import INTRO, WORKSPACE_HELP, Controls, Press
from bot.local.controls import Control
from bot.local.fake_slack import FakeSlack, Message
from bot.local.forms import PromptedForm
from bot.local.render import Button, render_blocks
from bot.local.resume import resume
from bot.local.timeskip import LONGEST, skip_duration, span_text, steps

__all__ = ["LocalWorkspace", "skip_duration"]  # skip_duration: for the tests
from bot.services import Services, build_services
from bot.settings import Settings
from handlers.replies import close_shared_session


class LocalWorkspace:
    def __init__(
        self,
        settings: Settings,
        out: TextIO,
        user: str = "sre",
        clock: OffsetClock | None = None,
    ) -> None:
        self.out = out
        self.fake = FakeSlack().start()
        self.secret = secrets.token_hex(16)
        local = settings.model_copy(
            update={
                "slack_bot_token": SecretStr("xoxb-local-workspace"),
                "slack_signing_secret": SecretStr(self.secret),
                "slack_api_url": self.fake.api_url,
            }
        )
        self.clock = clock or OffsetClock()  # the system clock unless given one
        self.services: Services = build_services(local, clock=self.clock)
        # a played database resumes its virtual clock: nothing posted is due again
        self.clock_note = resume(self.clock, self.services.engine, self.services.playbook.zone)
        self.services.start_background(scheduler=False)
        self.app = build_app(self.services)
        self.channel = self.services.playbook.channels.war_room
        resolved = self._resolve_user(user)
        if resolved is None:  # refused here as `as nobody` is refused in the session
            self.services.stop_background()
            self.fake.stop()
            raise ValueError(self._unknown_user(user))
        self.user = resolved
        self.controls = Controls()  # the buttons, menus and checkboxes shown
        self._seen: dict[str, int] = {}  # message ts → update count already shown
        self._numbers = iter(range(1, 10**6))
        self.modal: dict[str, Any] | None = None
        self._views_seen = 0
        self.form: PromptedForm | None = None  # a form of several fields, asked one by one
        self._home_shown: str | None = None  # the App Home view last printed

    # ---- identities ---------------------------------------------------------------------
    def _resolve_user(self, who: str) -> str | None:
        members = self.services.playbook.roles.get(who.lower())
        if members:
            return members[0]
        if who.upper().startswith(("U", "W")):
            return who.upper()
        return None

    def _unknown_user(self, who: str) -> str:
        roles = ", ".join(self.services.playbook.roles)
        return f"`{who}` is neither a role ({roles}) nor a user ID (U…)"

    def name_of(self, user: str) -> str:
        roles = sorted(self.services.authz.roles_of(user))
        return f"{user} ({', '.join(roles)})" if roles else user

    def _launch_target(self) -> str:
        """The set that opens the launch as the playbook plans it (its segments included:
        a bare percentage keeps the flag's segments, so the external users stay out)."""
        book = self.services.playbook
        target = book.rollout_target
        flag = book.flags[0]  # the playbook has at least one
        return f"{flag} {target.percent} {','.join(target.segments)}"

    # ---- the loop -----------------------------------------------------------------------
    async def run(self, lines: TextIO, prompt: bool = True) -> None:
        self.say(
            INTRO.format(
                user=self.user,
                roles=", ".join(sorted(self.services.authz.roles_of(self.user))) or "no role",
                launch_target=self._launch_target(),
            )
        )
        database = make_url(self.services.settings.database_url)
        self.say(f"Database: {database.render_as_string(hide_password=True)}")
        self.say(self.clock_note)
        while True:
            if prompt:
                self.out.write(f"{self.user}> ")
                self.out.flush()
            line = await asyncio.to_thread(lines.readline)
            if not line:
                break
            if not await self.handle(line.strip()):
                break
        await close_shared_session()
        self.services.stop_background()
        self.fake.stop()

    async def handle(self, line: str) -> bool:
        """One line typed by the person; False when they leave."""
        if self.form is not None:
            await self._answer(line)
            return True
        if line in ("quit", "exit"):
            return False
        if not line:
            return True
        if line.startswith("/"):
            await self._command(line)
        elif line == "help":
            self.say(WORKSPACE_HELP)
        elif line == "whoami":
            self.say(self.name_of(self.user))
        elif line == "schedule":
            await self._command("/rollout schedule")
        elif line == "home":
            await self._home()
        elif line.startswith("as "):
            self._act_as(line[3:].strip())
        elif line.split()[0] in ("click", "tick", "choose", "skip", "submit"):
            await self._prefixed(line)
        else:
            self.say(f"error: unknown input `{line}`. Type `help`.")
        return True

    async def _prefixed(self, line: str) -> None:
        if line.startswith("click"):
            await self._press(self.controls.click(line))
        elif line.startswith("tick"):
            items = self.controls.tick(line)
            for item in [items] if isinstance(items, str) else items:
                await self._press(item if isinstance(item, str) else self.controls.toggle(item))
        elif line.startswith("choose"):
            await self._press(self.controls.choose(line))
        elif line.startswith("skip"):
            await self._skip(line.removeprefix("skip").strip())
        else:
            await self._submit(line.removeprefix("submit").strip())

    def _act_as(self, who: str) -> None:
        user = self._resolve_user(who)
        if user is None:
            self.say(f"error: {self._unknown_user(who)}")
            return
        self.user = user
        self.say(f"you are now {self.name_of(user)}")

    async def _home(self) -> None:
        event = {
            "type": "app_home_opened",
            "user": self.user,
            "channel": "D0LOCAL",
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        }
        self._home_shown = None  # show it even if nothing changed
        await self._dispatch(payloads.event_callback(event), "application/json")

    async def _command(self, line: str) -> None:
        command, _, text = line.partition(" ")
        response_url = self.fake.response_url(self.channel, self.user)
        body = payloads.slash_command(command, text.strip(), self.user, self.channel, response_url)
        await self._dispatch(body)

    async def _press(self, press: Press | str) -> None:
        """Send what a Slack client sends when a control is used (or say what was wrong)."""
        if isinstance(press, str):
            self.say(press)
            return
        response_url = self.fake.response_url(press.channel, self.user, press.message_ts)
        shown = next((m for m in self.fake.messages if m.ts == press.message_ts), None)
        body = payloads.block_actions(
            self.user,
            press.channel,
            press.message_ts,
            press.action["action_id"],
            str(press.action.get("value", "")),
            press.action["block_id"],
            response_url,
            action=press.action,
            message_blocks=shown.blocks if shown else None,
        )
        await self._dispatch(body)

    async def _skip(self, text: str) -> None:
        """Move time forward minute by minute, showing each post as it is made, with its
        time; a long skip says where it is every few hours."""
        try:
            delta = skip_duration(text)
        except ValueError:
            self.say("error: say how far, e.g. `skip 30m`, `skip 4h`, `skip 23h25m`, `skip 1d`")
            return
        if delta <= timedelta(0) or delta > LONGEST:
            self.say("error: skip forward, at most 7d")
            return
        for move, done, progress in steps(delta):
            self.clock.skip(move)
            at = self._now_text()  # the tick's time: what it posts is posted at it
            await asyncio.to_thread(self.services.schedule.tick)
            if self._unseen():
                await self._settle()
                self._show_new(at)
            elif progress:
                self.say(f"  … {self._now_text()} ({span_text(done)} of {span_text(delta)})")
        self.say(f"it is now {self._now_text()}")
        await self._settle()
        self._show_new()

    def _now_text(self) -> str:
        return f"{self.clock.now().astimezone(self.services.playbook.zone):%a %d %b %H:%M %Z}"

    async def _submit(self, text: str) -> None:
        """Submit the open modal: its single text input gets `text`."""
        if self.modal is None:
            self.say("error: no form is open (a button opens one)")
            return
        view = self.modal
        block = next(b for b in view["blocks"] if b.get("type") == "input")
        values = {block["block_id"]: {block["element"]["action_id"]: text}}
        body = await self._dispatch(payloads.view_submission(self.user, view, values))
        if '"response_action": "errors"' not in body.replace('":"', '": "'):
            self.modal = None  # closed, as Slack closes a form accepted without errors

    async def _answer(self, line: str) -> None:
        """One answer of a prompted form; after the last field the form is submitted."""
        form = self.form
        assert form is not None
        if line == "cancel":
            self.form, self.modal = None, None
            self.say("form left; nothing was filed")
            return
        problem = form.answer(line)
        if problem:
            self.say(f"  {problem}")
        if not form.done:
            self.say(form.question())
            return
        self.form = None
        body = await self._dispatch(payloads.view_submission(self.user, form.view, form.values()))
        if '"response_action": "errors"' in body.replace('":"', '": "'):
            self.form = form.again(json.loads(body).get("errors", {}))
            self.say(self.form.question())
        else:
            self.modal = None

    async def _dispatch(
        self, body: str, content_type: str = "application/x-www-form-urlencoded"
    ) -> str:
        """Send a signed request through the app; returns the ack's body."""
        headers = payloads.signed_headers(self.secret, body, content_type=content_type)
        request = AsyncBoltRequest(body=body, headers=dict(headers))
        response = await self.app.async_dispatch(request)
        if response.status != 200:
            self.say(f"error: the app answered {response.status}: {response.body}")
        elif response.body:
            self._show_ack_body(response.body)
        await self._settle()
        self._show_new()
        return response.body or ""

    def _show_ack_body(self, body: str) -> None:
        try:
            data = json.loads(body)
        except ValueError:
            self.say(body)
            return
        if data.get("response_action") == "errors":
            for field, error in data.get("errors", {}).items():
                self.say(f"form error ({field}): {error}")
        else:
            self.say(body)

    async def _settle(self, timeout: float = 60) -> None:
        """Wait for the listeners' work after the ack (Bolt runs it as background tasks),
        and for any runbook that work started."""
        current = asyncio.current_task()
        pending = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=timeout)
        await asyncio.to_thread(self.services.runbook.wait_idle, timeout)

    # ---- output -------------------------------------------------------------------------
    def _unseen(self) -> list[Message]:
        """The messages this person can see that are new or changed since last shown."""
        return [
            m
            for m in list(self.fake.messages)
            if self._seen.get(m.ts) != m.updated
            and not (m.ephemeral_to and m.ephemeral_to != self.user)
        ]

    def _show_new(self, at: str = "") -> None:
        """What changed since last shown; `at`, during a skip, is the time it was made."""
        home = self.fake.home_views.get(self.user)
        if home is not None and json.dumps(home) != self._home_shown:
            self._home_shown = json.dumps(home)
            self._print_message(Message("App Home", "home", "", home.get("blocks", [])), False)
        if len(self.fake.views) > self._views_seen:
            self.modal = self.fake.views[-1]
            self._views_seen = len(self.fake.views)
            self._show_form(self.modal)
        for message in self._unseen():
            edited = message.ts in self._seen
            self._seen[message.ts] = message.updated
            self._print_message(message, edited, at)

    def _show_form(self, modal: dict[str, Any]) -> None:
        inputs = [b["label"]["text"] for b in modal["blocks"] if b.get("type") == "input"]
        title = modal["title"]["text"]
        if len(inputs) > 1:  # asked field by field
            self.form = PromptedForm(modal)
            self.say(f"[form] {title}: answer each field (`cancel` leaves the form)")
            self.say(self.form.question())
        else:
            self.say(
                f"[form] {title}: {'; '.join(inputs)}\n"
                "  type `submit YOUR ANSWER` (or anything else to leave it)"
            )

    def _print_message(self, message: Message, edited: bool, at: str = "") -> None:
        if message.ephemeral_to:
            head = "(only you can see this)"
        else:
            head = f"[{message.channel}] warroom" + (" (edited)" if edited else "")
            if message.thread_ts:
                head += " ↳ in thread"
            if at:
                head += f" · {at}"
        buttons: list[Button] = []
        controls: list[Control] = []
        body = render_blocks(
            message.blocks,
            message.text,
            self.name_of,
            lambda: next(self._numbers),
            message.channel,
            message.ts,
            buttons,
            controls,
        )
        self.controls.shown(buttons, controls)
        self.say(head)
        self.say("\n".join("  " + line for line in body))

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

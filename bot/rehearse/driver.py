"""The virtual-clock driver: the real app (services, Bolt listeners, scheduler tick, trigger
evaluator, runbook) against the loopback Slack and the story-fed Prometheus, from T−24h to
the council's close, with the personas clicking through signed requests.

Time steps (bot/rehearse/steps.py): every evaluation interval (30 s) while anything is
happening, 15 min when all is quiet, and exactly on every instant something is due, so posts
are made at their minute and reminders at theirs.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from pydantic import SecretStr
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.app import build_app, build_asgi
from bot.clock import FakeClock
from bot.local import payloads
from bot.local.render import Button, render_blocks
from bot.playbook import Integrations, Playbook
from bot.playbook.flags import FlagProviderSettings
from bot.rehearse.faults import FaultPlan, RehearsalSlack
from bot.rehearse.personas import Action, Personas
from bot.rehearse.prometheus import StoryPrometheus
from bot.rehearse.scenario import Scenario
from bot.rehearse.steps import Steps
from bot.rehearse.timeline import Timeline
from bot.services import Services, build_services
from bot.settings import Settings
from bot.timeparse import parse_launch_time
from handlers.replies import close_shared_session

E2E_STAND_IN = f"{sys.executable} -c \"print('rehearsal: e2e stand-in passed')\""


@dataclass
class Run:
    """What the driver saw, for the grade and the reports."""

    scenario: Scenario
    playbook: Playbook
    launch_at: datetime
    start: datetime
    end: datetime
    services: Services
    fake: RehearsalSlack
    timeline: Timeline
    human: list[Action] = field(default_factory=list)
    failed_clicks: list[str] = field(default_factory=list)
    faults: list[tuple[str, datetime, datetime]] = field(default_factory=list)  # kind, from, to


def rehearsal_playbook(playbook: Playbook) -> Playbook:
    """The team's playbook, kept away from production: the flags in the bot's own store
    (never the team's Unleash or flag service), no integration (no cache cleared, banner
    shown, email sent or ticket opened: their actions are listed as done by hand), and a
    stand-in for the runbook's e2e test (never the team's suite against production)."""
    rollback = playbook.rollback
    verify = rollback.verify.model_copy(update={"e2e_command": E2E_STAND_IN})
    return playbook.model_copy(
        update={
            "rollback": rollback.model_copy(update={"verify": verify}),
            "flag_provider": FlagProviderSettings(),
            "integrations": Integrations(),
        }
    )


# Settings a rehearsal never takes from the environment: anything that reaches outside.
OUTSIDE_CLEARED: dict[str, None] = dict.fromkeys(
    (
        "slack_app_token",
        "jira_email",
        "jira_api_token",
        "smtp_username",
        "smtp_password",
        "warroom_hook_token",
        "prometheus_token",
        "pagerduty_routing_key",
        "unleash_url",
        "unleash_admin_token",
        "flags_http_url",
        "flags_http_token",
        "warroom_flagd_file",
    )
)


class Rehearsal:
    def __init__(
        self,
        scenario: Scenario,
        playbook: Playbook,
        workdir: Path | None = None,
        until: timedelta | None = None,
        speed: float | None = None,
        live: Callable[[list[str]], None] | None = None,
    ) -> None:
        """`until` (after T) ends the play early: a test of one episode need not play the
        council; the default plays to the council's close. `speed` plays in scaled real
        time (a step of the virtual clock waits step/speed seconds); `live` is handed the
        transcript's new lines after every step."""
        self.scenario = scenario
        self.until = until
        self.speed = speed
        self.live = live
        self._told = 0
        self.playbook = rehearsal_playbook(playbook)
        self.launch_at = parse_launch_time(scenario.launch, playbook.zone)
        self.start = self.launch_at - timedelta(hours=24, minutes=5)
        self.clock = FakeClock(self.start)
        self.faults = FaultPlan(scenario.faults, self.launch_at)
        self.fake = RehearsalSlack().attach(self.clock, self.faults)
        self.fake.start()
        self.prometheus = StoryPrometheus(
            scenario, self.playbook, self.clock, self.launch_at, self.faults.no_data
        ).start()
        self._tmp = tempfile.TemporaryDirectory(prefix="warroom-rehearse-")
        folder = workdir or Path(self._tmp.name)
        self.secret = secrets.token_hex(16)
        settings = Settings(
            slack_bot_token=SecretStr("xoxb-rehearsal"),
            slack_signing_secret=SecretStr(self.secret),
            slack_api_url=self.fake.api_url,
            database_url=f"sqlite:///{folder / 'rehearsal.db'}",
            prometheus_url=self.prometheus.url,
            warroom_feedback_token=SecretStr(self.secret),
            **OUTSIDE_CLEARED,
        )
        self.services = build_services(settings, self.playbook, self.clock, sleep=self._sleep)
        self.app = build_app(self.services)
        self.web = build_asgi(self.services, slack_over_http=False)  # the bot's HTTP endpoints
        self.personas = Personas(self.playbook, scenario.personas, self.services.engine)
        self.timeline = Timeline(self.playbook, self.clock)
        self.queue: list[Action] = []
        self.human: list[Action] = []
        self.failed_clicks: list[str] = []
        self.steps = Steps(
            self.services.engine,
            self.playbook,
            scenario,
            self.launch_at,
            self.faults,
            lambda: (o.fire_at for o in self.services.schedule.plan()),
        )
        self._numbers = iter(range(1, 10**9))

    def _sleep(self, seconds: float) -> None:
        """The runbook's waits (backoff, the verification window) pass on the virtual clock."""
        self.clock.advance(timedelta(seconds=seconds))

    # ---- the run ---------------------------------------------------------------------------
    async def run(self) -> Run:
        try:
            end = await self._play()
        finally:
            await close_shared_session()
            self.services.stop_background()
            self.fake.stop()
            self.prometheus.stop()
        return Run(
            self.scenario,
            self.playbook,
            self.launch_at,
            self.start,
            end,
            self.services,
            self.fake,
            self.timeline,
            self.human,
            self.failed_clicks,
            self.faults.spans(),
        )

    def close(self) -> None:
        self.services.engine.dispose()
        self._tmp.cleanup()

    async def _play(self) -> datetime:
        s = self.services
        interval = timedelta(seconds=self.playbook.evaluation.interval_seconds)
        launch_text = self.launch_at.astimezone(self.playbook.zone).strftime("%Y-%m-%d %H:%M")
        self.queue.extend(self.personas.launch(self.start, self.launch_at, launch_text))
        end = self._end()
        now, last_eval = self.start, self.start - interval
        while now <= end:
            self.clock.set(max(now, self.clock.now()))
            await self._act_due()
            s.schedule.tick()
            if self.clock.now() - last_eval >= interval or not self.steps.busy(self.clock.now()):
                last_eval = self.clock.now()
                s.evaluator.evaluate()
            s.rollback.housekeeping()
            await self._settle()
            self._observe()
            now = self.steps.next(self.clock.now(), (a.at for a in self.queue), end)
            end = self._end()
            await self._pace(now)
        self.timeline.metrics(self.scenario, self.launch_at, self.start, end)
        return end

    async def _pace(self, upcoming: datetime) -> None:
        """Tell the new lines, and in scaled real time wait for the next step."""
        if self.live is not None:
            entries = self.timeline.entries[self._told :]
            self._told = len(self.timeline.entries)
            if entries:
                self.live(self.timeline.render(entries))
        if self.speed:
            wait = (upcoming - self.clock.now()).total_seconds() / self.speed
            await asyncio.sleep(max(0.0, wait))

    def _end(self) -> datetime:
        """The council's close, a few minutes on for its last clicks (or `until`)."""
        if self.until is not None:
            return self.launch_at + self.until
        closes = [o.fire_at for o in self.services.schedule.plan() if o.kind == "council_close"]
        return (max(closes) if closes else self.launch_at + timedelta(hours=48)) + timedelta(
            minutes=10
        )

    # ---- the people ------------------------------------------------------------------------
    async def _act_due(self) -> None:
        now = self.clock.now()
        due = sorted((a for a in self.queue if a.at <= now), key=lambda a: a.at)
        self.queue = [a for a in self.queue if a.at > now]
        for action in due:
            self.human.append(action)
            self.timeline.click(action, now)
            if action.feedback:
                await self._file_feedback(action)
                continue
            if action.command:
                command, _, text = action.command.partition(" ")
                url = self.fake.response_url(self.playbook.channels.war_room, action.user)
                body = payloads.slash_command(
                    command, text, action.user, self.playbook.channels.war_room, url
                )
            else:
                body = self._click_body(action)
            await self._dispatch(body, action)

    def _click_body(self, action: Action) -> str:
        button = action.button
        assert button is not None
        url = self.fake.response_url(button.channel, action.user, button.message_ts)
        return payloads.block_actions(
            action.user,
            button.channel,
            button.message_ts,
            button.action_id,
            button.value,
            button.block_id,
            url,
        )

    async def _file_feedback(self, action: Action) -> None:
        """Through the widget's endpoint, as the checkout sends it."""
        line = action.feedback
        assert line is not None
        body = {"source": "widget", "rating": line.rating, "text": line.text}
        body |= {"user_id": action.user, "idempotency_key": f"{action.user}:{line.at}"}
        if line.category:
            body["category"] = line.category
        transport = httpx.ASGITransport(app=self.web)
        async with httpx.AsyncClient(transport=transport, base_url="http://rehearsal") as client:
            answer = await client.post(
                "/api/feedback", json=body, headers={"Authorization": f"Bearer {self.secret}"}
            )
        if answer.status_code != 201:
            self.failed_clicks.append(f"{action.what}: the endpoint answered {answer.status_code}")
        await self._settle()
        self._observe()

    async def _dispatch(self, body: str, action: Action) -> None:
        headers: dict[str, str | Sequence[str]] = dict(payloads.signed_headers(self.secret, body))
        response = await self.app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
        if response.status != 200:
            self.failed_clicks.append(f"{action.what}: the app answered {response.status}")
        await self._settle()
        self._observe()

    async def _settle(self, timeout: float = 120) -> None:
        """The listeners' work after the ack, then any runbook it started, then its posts."""
        current = asyncio.current_task()
        pending = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=timeout)
        self.services.runbook.wait_idle(timeout)

    # ---- what Slack shows ------------------------------------------------------------------
    def _observe(self) -> None:
        now = self.clock.now()
        with self.fake._cond:
            messages = list(self.fake.messages)
        for message in messages:
            if not self.timeline.changed(message):
                continue
            buttons: list[Button] = []
            lines = render_blocks(
                message.blocks,
                message.text,
                self._name_of,
                lambda: next(self._numbers),
                message.channel,
                message.ts,
                buttons,
            )
            at = now if self.timeline.seen(message) else self.fake.posted_at.get(message.ts, now)
            self.timeline.post(message, lines, at)
            if message.ephemeral_to is None:
                self.queue.extend(self.personas.react(buttons, at))
                self.queue.extend(
                    self.personas.read(message.ts, message.text, message.thread_ts, at)
                )

    def _name_of(self, user: str) -> str:
        roles = sorted(self.services.authz.roles_of(user))
        return f"{user} ({', '.join(roles)})" if roles else user

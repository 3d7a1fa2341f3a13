"""The personas: one person per playbook role, acting on the buttons the bot posts, as the
scenario's behaviour says (after a delay, or never)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.ids.rollback import RollbackAction
from bot.ids.schedule import ScheduleAction
from bot.local.render import Button
from bot.playbook import Playbook, parse_duration
from bot.rehearse.scenario import Behaviour, FeedbackLine, offset
from storage.models import ChecklistState


@dataclass(frozen=True)
class Action:
    """A click (or a slash command when `command` is set) due at `at`."""

    at: datetime
    user: str
    role: str
    what: str  # for the grade's "done by hand" list
    button: Button | None = None
    command: str = ""
    feedback: FeedbackLine | None = None  # a beta user's, through the widget's endpoint


class Personas:
    def __init__(self, playbook: Playbook, behaviour: Behaviour, engine: Engine) -> None:
        self.playbook = playbook
        self.behaviour = behaviour
        self.engine = engine
        self._planned: set[tuple[str, str, str]] = set()  # (message ts, action id, user)
        self._glass_pending = False  # on-call declared an incident: break glass on its request

    def member(self, role: str) -> str:
        members = self.playbook.roles.get(role) or []
        return members[0] if members else f"U{role.upper()[:9]}"

    def launch(self, start: datetime, launch_at: datetime, launch_text: str) -> list[Action]:
        """Someone sets T a minute in; at T the flags go to the rollout target."""
        setter = self.playbook.permissions.get("rollout.launch", ["product"])[0]
        raiser = self.playbook.permissions.get("rollout.set", ["sre"])[0]
        target = self.playbook.rollout_target
        segments = ",".join(target.segments)
        actions = [
            Action(
                start,
                self.member(setter),
                setter,
                "set the launch time T",
                command=f"/rollout launch {launch_text} -- rehearsal",
            )
        ]
        for number, line in enumerate(self.behaviour.feedback, start=1):
            at = launch_at + offset(line.at)
            actions.append(
                Action(at, f"beta-user-{number}", "beta user", "filed feedback", feedback=line)
            )
        for flag in self.playbook.flags:
            actions.append(
                Action(
                    launch_at,
                    self.member(raiser),
                    raiser,
                    f"raised {flag} to {target.percent:g} %",
                    command=f"/rollout set {flag} {target.percent:g} {segments} -- launch",
                )
            )
        return actions

    def react(self, buttons: list[Button], seen_at: datetime) -> list[Action]:
        """The clicks the new buttons call for, each once per message and person."""
        actions: list[Action] = []
        for button in buttons:
            for role, delay, what in self._wants(button):
                user = self.member(role)
                key = (button.message_ts, button.action_id, user)
                if key in self._planned:
                    continue
                self._planned.add(key)
                actions.append(Action(seen_at + delay, user, role, what, button=button))
        return actions

    def read(self, ts: str, text: str, thread_ts: str | None, seen_at: datetime) -> list[Action]:
        """A war-room post that escalates an expired rollback to on-call (it mentions them
        and names the incident command): on-call declares the incident, if the scenario
        says so, once per post."""
        role = self.playbook.schedule.oncall_role
        user, after = self.member(role), self.behaviour.answer_escalation_after
        if after is None or thread_ts or "/rollback incident" not in text:
            return []
        key = (ts, "escalation", user)
        if f"<@{user}>" not in text or key in self._planned:
            return []
        self._planned.add(key)
        self._glass_pending = True
        reason = "still breaching after the rollback request expired unsigned"
        command = f"/rollback incident 2 {reason}"
        at = seen_at + parse_duration(after)
        return [Action(at, user, role, "declared an incident after an escalation", command=command)]

    def _wants(self, button: Button) -> list[tuple[str, timedelta, str]]:
        b = self.behaviour
        action = button.action_id
        if action == RollbackAction.BREAK_GLASS and self._glass_pending:
            self._glass_pending = False
            role = self.playbook.schedule.oncall_role
            return [(role, timedelta(minutes=1), "broke glass on the incident's rollback")]
        if action == ScheduleAction.CHECKLIST_ACK and b.acknowledge_after:
            role = self._checklist_owner(button.value)
            return [(role, parse_duration(b.acknowledge_after), "acknowledged a checklist")]
        if action == RollbackAction.APPROVE:
            return [
                (role, parse_duration(delay), "signed off a rollback")
                for role, delay in b.sign_off_after.items()
            ]
        chair = self.playbook.council.chair
        if action == ScheduleAction.DECIDE_CONTINUE and b.checkpoint == "continue":
            return [(chair, timedelta(minutes=5), "decided to continue at the checkpoint")]
        if action == ScheduleAction.DECIDE_BRAKE and b.checkpoint == "brake":
            return [(chair, timedelta(minutes=5), "decided to brake at the checkpoint")]
        if b.vote and action == f"{ScheduleAction.VOTE}.{b.vote}":
            return [
                (voter, timedelta(minutes=2), f"voted {b.vote}")
                for voter in self.playbook.council.voters
            ]
        if action == ScheduleAction.ADVANCE and b.advance_at_council:
            return [(chair, timedelta(minutes=1), "advanced the flags after the council")]
        return []

    def _checklist_owner(self, run_id: str) -> str:
        with Session(self.engine) as session:
            state = session.get(ChecklistState, int(run_id)) if run_id.isdigit() else None
        shift = next((s for s in self.playbook.shifts if state and s.name == state.shift), None)
        return shift.owners[0] if shift and shift.owners else "sre"

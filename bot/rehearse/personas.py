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
from bot.rehearse.scenario import Behaviour
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


class Personas:
    def __init__(self, playbook: Playbook, behaviour: Behaviour, engine: Engine) -> None:
        self.playbook = playbook
        self.behaviour = behaviour
        self.engine = engine
        self._planned: set[tuple[str, str, str]] = set()  # (message ts, action id, user)

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

    def _wants(self, button: Button) -> list[tuple[str, timedelta, str]]:
        b = self.behaviour
        action = button.action_id
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

"""The runbook's joint sign-off: Product and Support sign each version of the playbook's
`rollback` section once, on the message `/rollback plan` shows."""

from __future__ import annotations

from bot.authz import Authorizer
from bot.clock import Clock
from bot.decision_log import Decision
from bot.errors import Refusal
from bot.playbook import Playbook
from bot.rollback import requests
from bot.rollback.store import RequestStore
from storage.models import RunbookSignature


class PlanSignOff:
    store: RequestStore
    playbook: Playbook
    authz: Authorizer
    clock: Clock

    def plan_version(self) -> str:
        return requests.plan_version(self.playbook)

    def plan_signatures(self) -> list[RunbookSignature]:
        return self.store.plan_signatures(self.plan_version())

    def sign_plan(self, user: str, version: str) -> list[RunbookSignature]:
        role = requests.plan_role(
            self.playbook, user, self.authz.roles_of(user), version, self.plan_signatures()
        )
        now = self.clock.now()
        signature = RunbookSignature(version=version, role=role, user=user, at=now)
        record = Decision(
            actor=user,
            action="runbook.sign",
            subject=f"runbook@{version}",
            before=None,
            after={"role": role},
            reason="rollback runbook validated",
        )
        if not self.store.add_signature(signature, record):
            raise Refusal(f"`{role}` has just signed this version.", "")
        return self.plan_signatures()

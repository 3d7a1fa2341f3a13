"""Step 4: clear the caches the playbook lists, one hook call per service."""

from __future__ import annotations

from functools import partial

from bot.integrations import http_hooks
from bot.rollback.model import NOT_CONFIGURED, RequestView
from bot.rollback.steps.base import BaseStep, StepResult
from storage.models import RunbookStep
from storage.status import StepStatus


class ClearCaches(BaseStep):
    name = "clear_caches"
    title = "Clear caches"
    by_hand = "Clear the caches of the listed services from their admin consoles."

    def run(self, view: RequestView, step: RunbookStep) -> StepResult:
        url = self.kit.playbook.integrations.cache_clear_url
        caches = self.kit.playbook.rollback.caches
        if not caches:
            return StepResult(StepStatus.SKIPPED, {"note": "no caches listed in the playbook"})
        if not url:
            why = f"{NOT_CONFIGURED} (integrations.cache_clear_url)"
            for service in caches:
                self.skipped(step, f"cache of {service}", why, self._by_hand(service))
            return StepResult(StepStatus.SKIPPED, {**(step.output or {}), "note": why})
        done = dict((step.output or {}).get("cleared", {}))
        for service in caches:
            action = f"cache of {service}"
            if not self.recorded(step, action):  # cleared before a retry or a restart: not again
                done[service] = self.attempt(
                    step, action, self._by_hand(service), partial(self._clear, url, service)
                )
                self.done(step, action, done[service], cleared=done)
        return StepResult(output=dict(step.output or {}))

    def _clear(self, url: str, service: str) -> str:
        return http_hooks.clear_cache(url, service, self.kit.hook_token())

    @staticmethod
    def _by_hand(service: str) -> str:
        return f"Clear the cache of {service} from its admin console."

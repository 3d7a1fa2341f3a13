"""Step 4: clear the caches the playbook lists, one hook call per service."""

from __future__ import annotations

from bot.integrations import http_hooks
from bot.rollback.model import RequestView
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
            return StepResult(
                StepStatus.SKIPPED, {"note": "not configured (integrations.cache_clear_url)"}
            )
        done = dict((step.output or {}).get("cleared", {}))
        for service in caches:
            if service not in done:  # cleared before a retry or a restart: not again
                done[service] = http_hooks.clear_cache(url, service, self.kit.hook_token())
                self.kit.store.merge_output(step.id, cleared=done)
        return StepResult(output={"cleared": done})

"""Step 7: the incident in the tracker and the post-mortem on the calendar."""

from __future__ import annotations

from typing import Any

from bot.integrations import jira
from bot.playbook import JiraSettings
from bot.rollback.model import RequestView
from bot.rollback.steps.base import BaseStep, StepResult
from storage.models import RunbookStep

NOT_CONFIGURED = "skipped (not configured)"


class PostActions(BaseStep):
    name = "post_actions"
    title = "Post-actions: incident in the tracker, post-mortem within 24 h"
    by_hand = "Open the Sev2 incident in Jira and book the post-mortem by hand."

    def run(self, view: RequestView, step: RunbookStep) -> StepResult:
        out = dict(step.output or {})
        kit = self.kit
        if "incident" not in out:
            settings = kit.playbook.integrations.jira
            out["incident"] = self._incident(view, settings) if settings else NOT_CONFIGURED
            kit.store.merge_output(step.id, incident=out["incident"])
        if "postmortem" not in out:
            at = kit.postmortem_at(view)
            kit.store.add_postmortem(view.id, at)
            out["postmortem"] = at.isoformat()
            kit.store.merge_output(step.id, postmortem=out["postmortem"])
            kit.display.say(view.id, lambda n, v: n.postmortem_scheduled(v, at))
        return StepResult(output=out)

    def _incident(self, view: RequestView, settings: JiraSettings) -> dict[str, Any]:
        request, kit = view.request, self.kit
        severity = kit.playbook.rollback.post_actions.incident_severity
        token = kit.settings.jira_api_token
        key, url = jira.create_incident(
            settings,
            f"Sev{severity}: rollback #{request.id} of {', '.join(request.flags)}",
            [
                f"Reason: {request.reason}",
                f"Requested by {request.requested_by} at {kit.rollout.local(request.opened_at)}.",
                f"Flags back to {kit.target_text()}.",
                f"Evidence: {request.evidence}",
            ],
            severity,
            kit.settings.jira_email,
            token.get_secret_value() if token else None,
        )
        kit.display.say(view.id, lambda n, v: n.incident_opened(v, key, url, severity))
        return {"key": key, "url": url}

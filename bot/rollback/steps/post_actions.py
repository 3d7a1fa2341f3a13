"""Step 7: the incident in the tracker and the post-mortem on the calendar."""

from __future__ import annotations

from bot.integrations import jira
from bot.playbook import JiraSettings
from bot.rollback.model import NOT_CONFIGURED, RequestView
from bot.rollback.steps.base import BaseStep, StepResult
from storage.models import RunbookStep

INCIDENT = "incident in the tracker"
POSTMORTEM = "post-mortem"


class PostActions(BaseStep):
    name = "post_actions"
    title = "Post-actions: incident in the tracker, post-mortem within 24 h"
    by_hand = "Open the Sev2 incident in Jira and book the post-mortem by hand."

    def run(self, view: RequestView, step: RunbookStep) -> StepResult:
        kit = self.kit
        severity = kit.playbook.rollback.post_actions.incident_severity
        by_hand = f"Open the Sev{severity} incident in the tracker by hand."
        if not self.recorded(step, INCIDENT):
            settings = kit.playbook.integrations.jira
            if settings is None:
                self.skipped(step, INCIDENT, f"{NOT_CONFIGURED} (integrations.jira)", by_hand)
            else:
                key, url = self.attempt(
                    step, INCIDENT, by_hand, lambda: self._incident(view, settings)
                )
                self.done(step, INCIDENT, f"{key} opened", incident={"key": key, "url": url})
        if not self.recorded(step, POSTMORTEM):
            at = kit.postmortem_at(view)
            kit.store.add_postmortem(view.id, at)
            self.done(
                step, POSTMORTEM, f"booked for {kit.rollout.local(at)}", postmortem=at.isoformat()
            )
            kit.display.say(view.id, lambda n, v: n.postmortem_scheduled(v, at))
        return StepResult(output=dict(step.output or {}))

    def _incident(self, view: RequestView, settings: JiraSettings) -> tuple[str, str]:
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
        return key, url

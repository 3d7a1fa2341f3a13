"""Step 6: tell people: a war-room post, an email to support (with the post-mortem
invitation), the maintenance banner. Each is recorded as done at once and not repeated."""

from __future__ import annotations

from bot.integrations import email, http_hooks
from bot.playbook import EmailSettings
from bot.rollback.model import NOT_CONFIGURED, ActionOutcome, ActionState, RequestView
from bot.rollback.steps.base import BaseStep, StepResult
from storage.models import RunbookStep

POSTMORTEM_MINUTES = 60  # the length of the meeting in the invitation


EMAIL_BY_HAND = "Email support the rollback, its reason and the post-mortem time."
BANNER_BY_HAND = "Switch the maintenance banner on in the site's admin."
INCIDENT_BY_HAND = "Open the Sev{severity} incident in the tracker by hand."


class Communicate(BaseStep):
    name = "communicate"
    title = "Communicate: war room, support email, maintenance banner"
    by_hand = "Post in the war room, email support and switch the banner on by hand."

    def run(self, view: RequestView, step: RunbookStep) -> StepResult:
        wanted = self.kit.playbook.rollback.communicate
        integrations = self.kit.playbook.integrations
        if "war_room_post" in wanted and not self.recorded(step, "war-room post"):
            not_done = self._not_done_list(view)
            self.kit.store.merge_output(step.id, not_done=not_done)
            step.output = {**(step.output or {}), "not_done": not_done}
            target = self.kit.playbook.rollback.target
            percent, segments = target.percent, list(target.segments)
            self.kit.display.say(view.id, lambda n, v: n.announce_executed(v, percent, segments))
            self.done(step, "war-room post", "posted", war_room_post="posted")
        if "support_email" in wanted and not self.recorded(step, "support email"):
            email_settings = integrations.email
            if email_settings is None:
                self.skipped(
                    step, "support email", f"{NOT_CONFIGURED} (integrations.email)", EMAIL_BY_HAND
                )
            else:
                sent = self.attempt(
                    step,
                    "support email",
                    EMAIL_BY_HAND,
                    lambda: self._email_support(view, email_settings),
                )
                self.done(step, "support email", sent, support_email=sent)
        if "maintenance_banner" in wanted and not self.recorded(step, "maintenance banner"):
            url, message = integrations.banner_url, self.kit.playbook.rollback.banner_message
            if not url:
                self.skipped(
                    step,
                    "maintenance banner",
                    f"{NOT_CONFIGURED} (integrations.banner_url)",
                    BANNER_BY_HAND,
                )
            else:
                done = self.attempt(
                    step,
                    "maintenance banner",
                    BANNER_BY_HAND,
                    lambda: http_hooks.set_banner(url, message, self.kit.hook_token()),
                )
                self.done(step, "maintenance banner", done, maintenance_banner=done)
        return StepResult(output=dict(step.output or {}))

    def _not_done_list(self, view: RequestView) -> list[dict[str, str]]:
        """What the runbook did not do so far, and what it will skip for want of settings:
        the "executed" post lists each with what to do by hand."""
        wanted = self.kit.playbook.rollback.communicate
        integrations = self.kit.playbook.integrations
        ahead: list[ActionOutcome] = []
        if "support_email" in wanted and integrations.email is None:
            ahead.append(_unconfigured("support email", "integrations.email", EMAIL_BY_HAND))
        if "maintenance_banner" in wanted and not integrations.banner_url:
            ahead.append(
                _unconfigured("maintenance banner", "integrations.banner_url", BANNER_BY_HAND)
            )
        if integrations.jira is None:
            severity = self.kit.playbook.rollback.post_actions.incident_severity
            by_hand = INCIDENT_BY_HAND.format(severity=severity)
            ahead.append(_unconfigured("incident in the tracker", "integrations.jira", by_hand))
        return [a.as_record() for a in [*view.not_done(), *ahead]]

    def _email_support(self, view: RequestView, settings: EmailSettings) -> str:
        request, kit = view.request, self.kit
        since = request.executing_since or kit.clock.now()
        at = kit.postmortem_at(view)
        ics = email.invitation(
            uid=f"warroom-rollback-{request.id}@warroom",
            title=f"Post-mortem: rollback #{request.id}",
            start=at,
            minutes=POSTMORTEM_MINUTES,
            description=request.reason,
            organizer=settings.sender,
            stamp=kit.clock.now(),
        )
        body = (
            f"Hello support team,\n\nWe rolled back {', '.join(request.flags)} at "
            f"{kit.rollout.local(since)}: the features are back to {kit.target_text()}.\n"
            "External beta users no longer see them; a maintenance banner explains it.\n\n"
            f"Reason: {request.reason}\n\nPlease answer beta tickets with the maintenance "
            f"message. The post-mortem is on {kit.rollout.local(at)} (invitation attached).\n\n"
            f"— warroom, {kit.playbook.channels.war_room}\n"
        )
        password = kit.settings.smtp_password
        return email.send(
            settings,
            f"[warroom] Rollback #{request.id}: {', '.join(request.flags)}",
            body,
            kit.settings.smtp_username,
            password.get_secret_value() if password else None,
            ics,
        )


def _unconfigured(action: str, setting: str, by_hand: str) -> ActionOutcome:
    return ActionOutcome(action, ActionState.SKIPPED, f"{NOT_CONFIGURED} ({setting})", by_hand)

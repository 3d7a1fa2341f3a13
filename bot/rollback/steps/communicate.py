"""Step 6: tell people: a war-room post, an email to support (with the post-mortem
invitation), the maintenance banner. Each is recorded as done at once and not repeated."""

from __future__ import annotations

from bot.integrations import email, http_hooks
from bot.playbook import EmailSettings
from bot.rollback.model import RequestView
from bot.rollback.steps.base import BaseStep, StepResult
from storage.models import RunbookStep

NOT_CONFIGURED = "skipped (not configured)"
POSTMORTEM_MINUTES = 60  # the length of the meeting in the invitation


class Communicate(BaseStep):
    name = "communicate"
    title = "Communicate: war room, support email, maintenance banner"
    by_hand = "Post in the war room, email support and switch the banner on by hand."

    def run(self, view: RequestView, step: RunbookStep) -> StepResult:
        out = dict(step.output or {})
        wanted = self.kit.playbook.rollback.communicate
        integrations = self.kit.playbook.integrations
        if "war_room_post" in wanted and "war_room_post" not in out:
            target = self.kit.playbook.rollback.target
            percent, segments = target.percent, list(target.segments)
            self.kit.display.say(view.id, lambda n, v: n.announce_executed(v, percent, segments))
            out["war_room_post"] = "posted"
            self.kit.store.merge_output(step.id, war_room_post="posted")
        if "support_email" in wanted and "support_email" not in out:
            settings = integrations.email
            out["support_email"] = (
                self._email_support(view, settings) if settings else NOT_CONFIGURED
            )
            self.kit.store.merge_output(step.id, support_email=out["support_email"])
        if "maintenance_banner" in wanted and "maintenance_banner" not in out:
            url, message = integrations.banner_url, self.kit.playbook.rollback.banner_message
            out["maintenance_banner"] = (
                http_hooks.set_banner(url, message, self.kit.hook_token())
                if url
                else NOT_CONFIGURED
            )
            self.kit.store.merge_output(step.id, maintenance_banner=out["maintenance_banner"])
        return StepResult(output=out)

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

"""The runbook with every integration on loopback: HTTP sinks, Jira's shape, a real SMTP
server; and its faults: retries, a stop with what to do by hand, resuming."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, cast

import pytest
from pydantic import SecretStr

from bot import decision_log
from bot.clock import FakeClock
from bot.flags.base import FlagProvider, FlagProviderError, FlagView
from bot.flags.flagd_mirror import MirroredProvider
from bot.local.fake_slack import FakeSlack
from bot.playbook import (
    EmailSettings,
    Integrations,
    JiraSettings,
    MetricCheck,
    Playbook,
    RollbackVerify,
)
from bot.rollback.model import MttrGoal, RequestView
from bot.rollback.steps.base import StepResult
from bot.rollback.steps.empty_rules import EmptyRules
from bot.services import Services, build_services
from bot.settings import Settings
from bot.slack_out.messages.rollback import completed_text
from storage.models import RunbookStep
from storage.status import RollbackStatus
from tests.conftest import PRODUCT, SRE, SUPPORT
from tests.rollback_support import E2E_OK, rollback_playbook
from tests.sinks import HttpSink, SmtpSink


@pytest.fixture
def sink() -> Iterator[HttpSink]:
    s = HttpSink().start()
    yield s
    s.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    s = SmtpSink().start()
    yield s
    s.stop()


def integrated_playbook(sink: HttpSink, smtp: SmtpSink, **rollback: object) -> Playbook:
    book = rollback_playbook(**rollback)
    return book.model_copy(
        update={
            "integrations": Integrations(
                cache_clear_url=sink.url + "/cache/{service}/clear",
                banner_url=sink.url + "/banner",
                email=EmailSettings(
                    smtp_host="127.0.0.1",
                    smtp_port=smtp.port,
                    starttls=False,
                    sender="warroom@example.com",
                    to=["support@example.com"],
                ),
                jira=JiraSettings(base_url=sink.url, project_key="OPS"),
            )
        }
    )


def build(settings: Settings, book: Playbook, clock: FakeClock) -> Services:
    settings = settings.model_copy(
        update={
            "jira_email": "bot@example.com",
            "jira_api_token": SecretStr("jira-token"),
            "warroom_hook_token": SecretStr("hook-token"),
        }
    )
    return build_services(settings, book, clock, sleep=lambda seconds: None)


def sign(services: Services, request_id: int = 1) -> None:
    services.rollback.approve(request_id, PRODUCT)
    services.rollback.approve(request_id, SUPPORT)
    services.runbook.wait_idle()


def test_the_whole_runbook_with_every_integration(
    settings: Settings, sink: HttpSink, smtp: SmtpSink, clock: FakeClock, fake_slack: FakeSlack
) -> None:
    services = build(settings, integrated_playbook(sink, smtp), clock)
    services.rollout.set_flag(SRE, "SMART_PRICING", "25", "internal_beta,external_beta")
    flags = cast(MirroredProvider, services.rollout.flags)  # the embedded one: add_user_rule
    flags.add_user_rule("SMART_PRICING", "external_beta", "customer-42")
    flags.add_user_rule("SMART_PRICING", "internal_beta", "employee-7")
    services.rollback.open_from_trigger(
        "error_rate_critical",
        "error_rate 5.2 % for 5 min",
        {"error_rate": 5.2},
        critical=True,
        breach_started_at=clock.now() - timedelta(minutes=7),
        flags=["SMART_PRICING"],
    )
    clock.advance(timedelta(minutes=2))
    sign(services)
    view = services.rollback.view(1)
    assert view.request.status == RollbackStatus.DONE
    assert [s.status for s in view.steps] == ["done"] * 7
    assert view.mttr_seconds == 9 * 60  # breach 7 min before opening, verified 2 min after
    smart = flags.get("SMART_PRICING")
    assert (smart.percent, smart.segments, smart.user_rules) == (10, ["internal_beta"], 1)

    caches = sink.to("/cache/")
    assert [h.path for h in caches] == [
        "/cache/checkout-service/clear",
        "/cache/pricing-service/clear",
    ]
    assert caches[0].headers["Authorization"] == "Bearer hook-token"
    assert sink.to("/banner")[0].body["active"] is True
    issue = sink.to("/rest/api/3/issue")[0].body["fields"]
    assert issue["project"] == {"key": "OPS"} and issue["priority"] == {"name": "High"}
    assert issue["description"]["type"] == "doc" and "Sev2" in issue["summary"]

    mail = smtp.inbox.messages[0]
    assert mail["To"] == "support@example.com" and "Rollback #1" in mail["Subject"]
    ics = next(p for p in mail.walk() if p.get_content_type() == "text/calendar")
    assert "BEGIN:VEVENT" in cast(bytes, ics.get_payload(decode=True)).decode()  # not multipart

    thread = [m.text for m in fake_slack.channel_messages() if m.thread_ts]
    assert any("OPS-101" in t for t in thread)  # the Jira key is linked in the thread
    assert any("e2e" in t and "passed" in t for t in thread)
    assert any("MTTR 9.0 min (within the 30 min goal)" in t for t in thread)
    assert decision_log.verify(services.engine).ok


class FlakyProvider:
    """The embedded provider, failing its first `failures` changes."""

    name = "flaky"
    recorded_changes_only = True

    def __init__(self, inner: FlagProvider, failures: int) -> None:
        self.inner, self.failures = inner, failures

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def set(
        self,
        flag: str,
        percent: int,
        segments: list[str],
        actor: str,
        expected_version: str | None = None,
    ) -> FlagView:
        if self.failures > 0:
            self.failures -= 1
            raise FlagProviderError("503 from the flag service", flag)
        return self.inner.set(flag, percent, segments, actor, expected_version)


def test_flag_provider_failing_twice_is_retried(
    settings: Settings, sink: HttpSink, smtp: SmtpSink, clock: FakeClock
) -> None:
    services = build(settings, integrated_playbook(sink, smtp), clock)
    services.rollout.set_flag(SRE, "SMART_PRICING", "25", "internal_beta,external_beta")
    services.rollout.flags = FlakyProvider(services.rollout.flags, failures=2)
    services.rollback.open(SRE, ["SMART_PRICING", "pricing", "wrong"])
    sign(services)
    view = services.rollback.view(1)
    revert = next(s for s in view.steps if s.name == "revert")
    assert (view.request.status, revert.status, revert.attempts) == (RollbackStatus.DONE, "done", 3)
    failed = [r for r in decision_log.recent(services.engine, 50) if r.outcome == "failed"]
    assert len(failed) == 2  # each failed attempt is on the record


def test_jira_500_then_201(
    settings: Settings, sink: HttpSink, smtp: SmtpSink, clock: FakeClock
) -> None:
    sink.fail["/rest/api/3/issue"] = [500]
    services = build(settings, integrated_playbook(sink, smtp), clock)
    services.rollback.open(SRE, ["checkout", "broken"])
    sign(services)
    post = next(s for s in services.rollback.view(1).steps if s.name == "post_actions")
    assert (post.status, post.attempts, post.output["incident"]["key"]) == ("done", 2, "OPS-101")
    assert len(sink.to("/rest/api/3/issue")) == 2


def test_smtp_down_stops_with_what_to_do_then_retry_finishes_without_repeating(
    settings: Settings, sink: HttpSink, clock: FakeClock, fake_slack: FakeSlack
) -> None:
    smtp = SmtpSink()  # not started: nothing listens on its port
    services = build(settings, integrated_playbook(sink, smtp), clock)
    services.rollback.open(SRE, ["checkout", "broken"])
    sign(services)
    view = services.rollback.view(1)
    communicate = next(s for s in view.steps if s.name == "communicate")
    assert view.request.status == RollbackStatus.FAILED and communicate.status == "failed"
    assert "Connection refused" in communicate.error or "ConnectionRefused" in communicate.error
    assert "By hand: Post in the war room, email support" in communicate.error
    assert communicate.output["war_room_post"] == "posted"
    assert [s.status for s in view.steps][-1] == "pending"
    stop_note = [m.text for m in fake_slack.channel_messages() if "failed after 3 tries" in m.text]
    assert len(stop_note) == 1

    with pytest.raises(Exception, match="rollback.operate"):
        services.runbook.retry(1, PRODUCT)
    smtp.start()
    try:
        services.runbook.retry(1, SRE)
        services.runbook.wait_idle()
    finally:
        smtp.stop()
    view = services.rollback.view(1)
    assert view.request.status == RollbackStatus.DONE
    assert len(smtp.inbox.messages) == 1
    executed = [m for m in fake_slack.channel_messages() if "executed:" in m.text]
    assert len(executed) == 1  # the war-room post was not repeated by the retry


def test_a_step_finished_by_hand_is_recorded_as_such(settings: Settings, clock: FakeClock) -> None:
    book = rollback_playbook(
        verify=RollbackVerify(checks=[], e2e_command=f'{sys.executable} -c "raise SystemExit(3)"')
    )
    services = build(settings, book, clock)
    services.rollback.open(SRE, ["checkout", "broken"])
    sign(services)
    verify = next(s for s in services.rollback.view(1).steps if s.name == "verify")
    assert verify.status == "failed" and "exit 3" in verify.error
    services.runbook.done_by_hand(1, SRE)
    services.runbook.wait_idle()
    view = services.rollback.view(1)
    verify = next(s for s in view.steps if s.name == "verify")
    assert (view.request.status, verify.done_by) == (RollbackStatus.DONE, SRE)
    assert view.request.recovered_at is not None
    assert any(
        r.action == "rollback.step_by_hand" for r in decision_log.recent(services.engine, 50)
    )


def test_without_a_metrics_source_a_person_confirms(settings: Settings, clock: FakeClock) -> None:
    book = rollback_playbook(
        verify=RollbackVerify(
            checks=[MetricCheck(metric="saga_success_rate", op=">", value=95)], e2e_command=E2E_OK
        )
    )
    services = build(settings, book, clock)
    services.rollback.open(SRE, ["checkout", "broken"])
    sign(services)
    view = services.rollback.view(1)
    assert view.request.status == RollbackStatus.EXECUTING
    assert next(s for s in view.steps if s.name == "verify").status == "waiting"
    with pytest.raises(Exception, match="rollback.operate"):
        services.runbook.confirm_metrics(1, SUPPORT)
    services.runbook.confirm_metrics(1, SRE)
    services.runbook.wait_idle()
    verify = next(s for s in services.rollback.view(1).steps if s.name == "verify")
    assert services.rollback.view(1).request.status == RollbackStatus.DONE
    assert verify.output["metrics"] == f"confirmed by {SRE}"


def test_two_rollbacks_of_the_same_flag_do_not_run_at_once(
    settings: Settings, clock: FakeClock
) -> None:
    slow = f'{sys.executable} -c "import time; time.sleep(1.5)"'
    services = build(settings, rollback_playbook(verify=RollbackVerify(e2e_command=slow)), clock)
    services.rollback.open(SRE, ["SMART_PRICING", "first"])
    services.rollback.open(SRE, ["SMART_PRICING", "second"])
    services.rollback.approve(1, PRODUCT)
    services.rollback.approve(1, SUPPORT)
    services.rollback.approve(2, PRODUCT)
    services.rollback.approve(2, SUPPORT)
    assert services.rollback.view(2).request.status == RollbackStatus.APPROVED  # waits for #1
    services.runbook.wait_idle(60)
    first, second = services.rollback.view(1).request, services.rollback.view(2).request
    assert (first.status, second.status) == (RollbackStatus.DONE, RollbackStatus.DONE)
    # both are done: every step started and ended
    step_times = [cast(datetime, s.started_at) for s in services.rollback.view(2).steps]
    assert min(step_times) >= max(
        cast(datetime, s.ended_at) for s in services.rollback.view(1).steps
    )


def test_housekeeping_expires_requests_and_reminds_the_postmortem_once(
    settings: Settings, clock: FakeClock, fake_slack: FakeSlack
) -> None:
    services = build(settings, rollback_playbook(), clock)
    services.rollback.open(SRE, ["checkout", "broken"])
    sign(services)
    services.rollback.open(SRE, ["second", "request"])
    clock.advance(timedelta(minutes=31))
    services.rollback.housekeeping()
    second = services.rollback.view(2)
    assert second.request.status == "expired"
    message = next(m for m in fake_slack.channel_messages() if m.text.startswith("Rollback #2"))
    assert "no longer work" in str(message.blocks) and message.updated >= 1
    clock.advance(timedelta(hours=24))
    services.rollback.housekeeping()
    services.rollback.housekeeping()
    reminders = [
        m
        for m in fake_slack.channel_messages()
        if "Post-mortem of rollback #1" in m.text and not m.thread_ts
    ]
    assert len(reminders) == 1 and "<@U0PROD0001>" in reminders[0].text


def test_an_unforeseen_fault_in_a_step_stops_the_runbook_with_a_message(
    settings: Settings, clock: FakeClock, fake_slack: FakeSlack
) -> None:
    services = build(settings, rollback_playbook(), clock)

    class Broken(EmptyRules):
        def run(self, view: RequestView, step: RunbookStep) -> StepResult:
            raise KeyError("segments")

    empty_rules = cast(EmptyRules, services.runbook.steps["empty_rules"])
    services.runbook.steps["empty_rules"] = Broken(empty_rules.kit)
    services.rollback.open(SRE, ["checkout", "broken"])
    sign(services)
    view = services.rollback.view(1)
    step = next(s for s in view.steps if s.name == "empty_rules")
    assert (
        view.request.status == RollbackStatus.FAILED
        and step.status == "failed"
        and step.attempts == 3
    )
    assert "unexpected KeyError" in step.error
    assert any("failed after 3 tries" in m.text for m in fake_slack.channel_messages())


def test_the_mttr_goal_is_the_playbooks_mttr_kpi() -> None:
    book = rollback_playbook()
    kpis = [k.model_copy(update={"value": 5}) if k.metric == "mttr" else k for k in book.kpis]
    stricter = book.model_copy(update={"kpis": kpis})
    assert completed_text(9 * 60, MttrGoal.of(book)).endswith("(within the 30 min goal).")
    assert completed_text(9 * 60, MttrGoal.of(stricter)).endswith("(OVER the 5 min goal).")
    without = book.model_copy(update={"kpis": [k for k in book.kpis if k.metric != "mttr"]})
    assert completed_text(9 * 60, MttrGoal.of(without)).endswith("MTTR 9.0 min.")

"""Checks that span sections: every role, metric and segment a section names is defined
in its own section, and each section's own consistency rules hold."""

from __future__ import annotations

from collections.abc import Iterable

from bot.playbook.base import ACTIONS, SLACK_MEMBER
from bot.playbook.model import Playbook


class _Problems:
    """Collects problems; `need` reports a name that its section does not define."""

    def __init__(self, book: Playbook) -> None:
        self.items: list[str] = []
        self.roles = set(book.roles)
        self.metrics = set(book.metrics)
        self.segments = set(book.segments)

    def add(self, problem: str) -> None:
        self.items.append(problem)

    def need(self, kind: str, known: set[str], where: str, name: str) -> None:
        if name not in known:
            self.add(f"{where} = {name!r}: unknown {kind}; known: {', '.join(sorted(known))}")

    def roles_in(self, where: str, names: Iterable[str]) -> None:
        for i, name in enumerate(names):
            self.need("role", self.roles, f"{where}[{i}]", name)

    def metrics_in(self, where: str, names: Iterable[str]) -> None:
        for i, name in enumerate(names):
            self.need("metric", self.metrics, f"{where}[{i}]", name)

    def segments_in(self, where: str, names: Iterable[str]) -> None:
        for i, name in enumerate(names):
            self.need("segment", self.segments, f"{where}[{i}]", name)


def _roles_and_permissions(book: Playbook, p: _Problems) -> None:
    for key, members in book.roles.items():
        for i, member in enumerate(members):
            if not SLACK_MEMBER.match(member):
                p.add(
                    f"roles.{key}[{i}] = {member!r}: expected a Slack user ID (U…/W…) "
                    "or user-group ID (S…)"
                )
    for action, granted in book.permissions.items():
        if action not in ACTIONS:
            p.add(f"permissions.{action}: unknown action; known: {', '.join(ACTIONS)}")
        p.roles_in(f"permissions.{action}", granted)


def _targets_and_rollback(book: Playbook, p: _Problems) -> None:
    for name, target in (
        ("initial_state", book.initial_state),
        ("rollout_target", book.rollout_target),
        ("rollback.target", book.rollback.target),
    ):
        p.segments_in(f"{name}.segments", target.segments)
    p.segments_in("external_segments", book.external_segments)
    p.roles_in("rollback.sign_off_roles", book.rollback.sign_off_roles)
    for i, item in enumerate(book.completion):
        p.roles_in(f"completion[{i}].confirm_roles", item.confirm_roles)
    for i, check in enumerate(book.rollback.verify.checks):
        p.need("metric", p.metrics, f"rollback.verify.checks[{i}].metric", check.metric)


def _alerts(book: Playbook, p: _Problems) -> None:
    for i, alert in enumerate(book.alerts):
        p.need("metric", p.metrics, f"alerts[{i}].metric", alert.metric)
        ordered = (
            alert.warning <= alert.critical
            if alert.direction == "above"
            else (alert.warning >= alert.critical)
        )
        if not ordered:
            p.add(
                f"alerts[{i}]: warning {alert.warning} must come before critical "
                f"{alert.critical} for direction {alert.direction}"
            )


def _triggers_kpis_and_queries(book: Playbook, p: _Problems) -> None:
    for i, trigger in enumerate(book.triggers):
        if trigger.metric is not None:
            p.need("metric", p.metrics, f"triggers[{i}].metric", trigger.metric)
            if trigger.op is None or trigger.value is None:
                p.add(f"triggers[{i}] ({trigger.name}): a metric trigger needs op and value")
        elif trigger.incident_severity_at_most is None:
            p.add(
                f"triggers[{i}] ({trigger.name}): needs either metric/op/value "
                "or incident_severity_at_most"
            )
        if trigger.alert_severities and trigger.incident_severity_at_most is None:
            p.add(
                f"triggers[{i}] ({trigger.name}): alert_severities belong to an incident "
                "trigger (incident_severity_at_most)"
            )
    for i, kpi in enumerate(book.kpis):
        p.need("metric", p.metrics, f"kpis[{i}].metric", kpi.metric)
    for name, metric in book.metrics.items():
        if metric.source == "prometheus" and not metric.query.strip():
            p.add(f"metrics.{name}.query: a prometheus metric needs a PromQL query")


def _cadence_and_feedback(book: Playbook, p: _Problems) -> None:
    for i, shift in enumerate(book.shifts):
        p.roles_in(f"shifts[{i}].owners", shift.owners)
        p.metrics_in(f"shifts[{i}].metrics", shift.metrics)
    p.roles_in("schedule.oncall_role", [book.schedule.oncall_role])
    p.roles_in("daily_sync.attendees", book.daily_sync.attendees)
    p.roles_in("council.voters", book.council.voters)
    p.need("role", p.roles, "council.chair", book.council.chair)
    p.metrics_in("first_hour_snapshots.metrics", book.first_hour_snapshots.metrics)
    for kind in ("critical", "product", "question"):
        p.need("role", p.roles, f"feedback.routing.{kind}", getattr(book.feedback.routing, kind))


def _phase2_and_lessons(book: Playbook, p: _Problems) -> None:
    for i, risk in enumerate(book.phase2.risks):
        if not SLACK_MEMBER.match(risk.owner):
            p.need("role", p.roles, f"phase2.risks[{i}].owner", risk.owner)
    headings = {h.key for h in book.lessons.headings}
    p.need("heading", headings, "lessons.default_heading", book.lessons.default_heading)
    for i, item in enumerate(book.completion):
        if item.check == "backlog_approved" and not book.phase2.backlog:
            p.add(f"completion[{i}].check = 'backlog_approved': phase2.backlog is empty")


def _go_to_market(book: Playbook, p: _Problems) -> None:
    comms = book.communications
    for i, item in enumerate(comms.items):
        p.need("role", p.roles, f"communications.items[{i}].owner", item.owner)
    if comms.items:
        p.need("role", p.roles, "communications.escalate_to", comms.escalate_to)
    if book.support_staffing is not None:
        escalate = book.support_staffing.escalate_to
        p.need("role", p.roles, "support_staffing.escalate_to", escalate)
    for i, step in enumerate(book.phase2_timeline):
        p.roles_in(f"phase2_timeline[{i}].owners", step.owners)


def cross_references(book: Playbook) -> list[str]:
    """Every problem that spans sections, in the order of the playbook's sections."""
    problems = _Problems(book)
    _roles_and_permissions(book, problems)
    _targets_and_rollback(book, problems)
    _alerts(book, problems)
    _triggers_kpis_and_queries(book, problems)
    _cadence_and_feedback(book, problems)
    _phase2_and_lessons(book, problems)
    _go_to_market(book, problems)
    return problems.items

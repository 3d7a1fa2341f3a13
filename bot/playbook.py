"""The playbook: one validated YAML file holding everything specific to this launch.

A bad playbook is refused whole, with every problem listed (key path, value, what is
expected); nothing is half-loaded.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

BUNDLED_PLAYBOOK = Path(__file__).with_name("playbook.yml")

# The state-changing actions a playbook grants to roles. Each later surface adds its own.
ACTIONS = (
    "rollout.set",
    "rollout.launch",
    "rollout.freeze",
    "rollout.unfreeze",
    "rollback.request",  # open a rollback request
    "rollback.break_glass",  # execute at once while critical (sign-offs collected after)
    "rollback.operate",  # retry a failed step, finish one by hand, confirm metrics
    "rollback.incident",  # declare the incident severity on a request
    "feedback.file",  # file beta feedback from Slack (the /feedback form, the shortcut)
)

FLAG_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
SLACK_MEMBER = re.compile(r"^[UWS][A-Z0-9]{2,}$")
DURATION = re.compile(r"^(-?\d+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

Percent = Annotated[int, Field(ge=0, le=100)]
Op = Literal[">", ">=", "<", "<="]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_duration(text: str) -> timedelta:
    """'5m', '-24h', '30s', '2d' → timedelta."""
    match = DURATION.match(text.strip())
    if not match:
        raise ValueError(f"expected a duration such as 30s, 5m, -24h or 2d, got {text!r}")
    return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def parse_local_time(text: str) -> time:
    match = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", text.strip())
    if not match:
        raise ValueError(f"expected a local time HH:MM (00:00–23:59), got {text!r}")
    return time(int(match.group(1)), int(match.group(2)))


LocalTime = Annotated[str, Field(description="HH:MM local time")]


class _HasLocalTime(_Strict):
    at: LocalTime

    @field_validator("at")
    @classmethod
    def _valid_time(cls, value: str) -> str:
        parse_local_time(value)
        return value

    @property
    def local_time(self) -> time:
        return parse_local_time(self.at)


class FlagTarget(_Strict):
    percent: Percent
    segments: list[str] = Field(min_length=1)


class MetricCheck(_Strict):
    metric: str
    op: Op
    value: float


class RollbackVerify(_Strict):
    checks: list[MetricCheck] = Field(default_factory=list)
    e2e_command: str = ""
    window_seconds: float = Field(60, ge=0)  # the checks must hold this long…
    sample_seconds: float = Field(10, gt=0)  # …sampled this often


class PostActions(_Strict):
    incident_severity: int = Field(2, ge=1, le=5)
    postmortem_within_hours: int = Field(24, ge=1)


class Rollback(_Strict):
    target: FlagTarget
    empty_external_user_rules: bool = True
    caches: list[str] = Field(default_factory=list)
    verify: RollbackVerify = RollbackVerify()
    communicate: list[Literal["war_room_post", "support_email", "maintenance_banner"]] = Field(
        default_factory=list
    )
    post_actions: PostActions = PostActions()
    approval_expires_minutes: int = Field(30, ge=1)
    sign_off_roles: list[str] = Field(default_factory=lambda: ["product", "support"], min_length=1)
    step_attempts: int = Field(3, ge=1, le=10)
    step_backoff_seconds: float = Field(2.0, ge=0)
    e2e_timeout_seconds: int = Field(600, ge=1)
    banner_message: str = "We are fixing an issue with checkout. Some features are paused."


class EmailSettings(_Strict):
    smtp_host: str
    smtp_port: int = Field(587, ge=1, le=65535)
    starttls: bool = True
    sender: str
    to: list[str] = Field(min_length=1)


class JiraSettings(_Strict):
    base_url: str = Field(pattern=r"^https?://")
    project_key: str = Field(pattern=r"^[A-Z][A-Z0-9_]+$")
    issue_type: str = "Incident"
    priority: str = "High"


class Integrations(_Strict):
    """Each is optional: a runbook step whose integration is not configured is shown as
    skipped (not configured), never silently dropped."""

    cache_clear_url: str | None = None  # POST per service; "{service}" is replaced
    banner_url: str | None = None  # POST {"message": …, "active": true}
    email: EmailSettings | None = None
    jira: JiraSettings | None = None
    postmortem_join_url: str = ""


class Metric(_Strict):
    unit: str = ""
    source: Literal["prometheus", "warroom"] = "prometheus"
    query: str = ""


class Alert(_Strict):
    metric: str
    direction: Literal["above", "below"]
    warning: float
    critical: float


class Trigger(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    metric: str | None = None
    op: Op | None = None
    value: float | None = None
    for_: str = Field("0s", alias="for")
    incident_severity_at_most: int | None = Field(None, ge=1, le=5)
    # Without data from Prometheus: keep the state, treat as ok, or treat as breaching.
    no_data: Literal["keep", "ok", "breaching"] = "keep"

    @field_validator("for_")
    @classmethod
    def _valid_for(cls, value: str) -> str:
        if parse_duration(value) < timedelta(0):
            raise ValueError("must not be negative")
        return value


class Kpi(_Strict):
    metric: str
    op: Op
    value: float
    note: str = ""


class Shift(_HasLocalTime):
    name: str
    owners: list[str] = Field(min_length=1)
    metrics: list[str] = Field(default_factory=list)  # live values shown on the checklist
    tools: list[str] = Field(default_factory=list)
    items: list[str] = Field(min_length=1)


class DailySync(_HasLocalTime):
    duration_minutes: int = Field(ge=1)
    attendees: list[str]


class Council(_HasLocalTime):
    day: int = Field(ge=0)
    duration_minutes: int = Field(ge=1)
    voters: list[str]
    chair: str
    advance_percent: Percent = 50  # a vote to advance sets every flag to this


class Snapshots(_Strict):
    every_minutes: int = Field(ge=1)
    for_minutes: int = Field(ge=1)
    metrics: list[str]


class CompletionItem(_Strict):
    """One item of the seed's completion checklist: ticked when its `check` (evidence the
    bot can see) passes and, where people must vouch for it, a member of `confirm_roles`
    has confirmed it with the button."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    check: Literal["runbook_validated", "shifts_live", "rollout_running", "first_report"] | None = (
        None
    )
    confirm_roles: list[str] = Field(default_factory=list)
    link: str = ""  # where the evidence lives (the backlog, the lessons page)

    @model_validator(mode="after")
    def _something_to_tick(self) -> CompletionItem:
        if self.check is None and not self.confirm_roles:
            raise ValueError("needs a check, confirm_roles, or both")
        return self


class Milestone(_Strict):
    offset: str
    title: str
    actions: list[str] = Field(default_factory=list)

    @field_validator("offset")
    @classmethod
    def _valid_offset(cls, value: str) -> str:
        parse_duration(value)
        return value


class EvaluationSettings(_Strict):
    interval_seconds: int = Field(30, ge=1)  # how often the triggers are evaluated
    no_data_warning_minutes: int = Field(5, ge=1)  # no data this long → a warning post


class ScheduleSettings(_Strict):
    grace_minutes: int = Field(10, ge=0)  # a post missed while down is still made this late
    checklist_remind_minutes: int = Field(15, ge=1)  # no acknowledgement → remind the owners
    checklist_escalate_minutes: int = Field(30, ge=1)  # still none → escalate to on-call
    watchdog_seconds: int = Field(30, ge=1)
    # the milestone (by its offset from T) whose post asks to continue or brake
    checkpoint_offset: str = "4h"

    @field_validator("checkpoint_offset")
    @classmethod
    def _valid_offset(cls, value: str) -> str:
        parse_duration(value)
        return value


class FeedbackRouting(_Strict):
    critical: str
    product: str
    question: str


class FeedbackKeywords(_Strict):
    """Words that classify feedback that came without a category (case-insensitive)."""

    critical: list[str] = Field(
        default_factory=lambda: [
            "error",
            "crash",
            "broken",
            "fails",
            "failed",
            "cannot pay",
            "can't pay",
            "charged twice",
            "500",
            "timeout",
            "lost my order",
        ]
    )
    question: list[str] = Field(default_factory=lambda: ["how do", "how can", "where is", "?"])


class Feedback(_Strict):
    routing: FeedbackRouting
    keywords: FeedbackKeywords = FeedbackKeywords()
    max_text_length: int = Field(2000, ge=1)
    daily_report_at: LocalTime
    support_sla_hours: int = Field(ge=1)
    ticket_tag: str

    @field_validator("daily_report_at")
    @classmethod
    def _valid_time(cls, value: str) -> str:
        parse_local_time(value)
        return value


class Channels(_Strict):
    war_room: str = Field(min_length=1)
    product: str = Field(min_length=1)
    support: str = Field(min_length=1)


class Playbook(_Strict):
    name: str
    timezone: str
    channels: Channels
    flags: list[str] = Field(min_length=1)
    segments: list[str] = Field(min_length=1)
    external_segments: list[str] = Field(default_factory=list)
    initial_state: FlagTarget
    rollout_target: FlagTarget
    rollback: Rollback
    metrics: dict[str, Metric]
    alerts: list[Alert] = Field(default_factory=list)
    triggers: list[Trigger] = Field(default_factory=list)
    kpis: list[Kpi] = Field(default_factory=list)
    monitoring_window_hours: int = Field(48, ge=1)
    shifts: list[Shift] = Field(default_factory=list)
    daily_sync: DailySync
    council: Council
    first_hour_snapshots: Snapshots
    milestones: list[Milestone] = Field(default_factory=list)
    feedback: Feedback
    roles: dict[str, list[str]]
    permissions: dict[str, list[str]]
    integrations: Integrations = Integrations()
    schedule: ScheduleSettings = ScheduleSettings()
    evaluation: EvaluationSettings = EvaluationSettings()
    completion: list[CompletionItem] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"expected an IANA time zone such as Europe/Madrid, got {value!r}"
            ) from None
        return value

    @field_validator("flags")
    @classmethod
    def _valid_flags(cls, value: list[str]) -> list[str]:
        bad = [flag for flag in value if not FLAG_NAME.match(flag)]
        if bad:
            raise ValueError(f"flag names must be UPPER_SNAKE_CASE: {', '.join(bad)}")
        if len(set(value)) != len(value):
            raise ValueError("flag names must be unique")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class PlaybookError(Exception):
    """A playbook that cannot be used, with every problem found."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        listing = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"{source}: {len(problems)} problem(s):\n{listing}")


def _loc(parts: tuple[Any, ...]) -> str:
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "(top level)"


def _cross_references(book: Playbook) -> list[str]:
    """Checks that span sections: every name used is defined somewhere."""
    problems: list[str] = []
    roles, metrics, segments = set(book.roles), set(book.metrics), set(book.segments)

    def need(kind: str, known: set[str], where: str, name: str) -> None:
        if name not in known:
            problems.append(
                f"{where} = {name!r}: unknown {kind}; known: {', '.join(sorted(known))}"
            )

    for key, members in book.roles.items():
        for i, member in enumerate(members):
            if not SLACK_MEMBER.match(member):
                problems.append(
                    f"roles.{key}[{i}] = {member!r}: expected a Slack user ID (U…/W…) "
                    "or user-group ID (S…)"
                )
    for action, granted in book.permissions.items():
        if action not in ACTIONS:
            problems.append(f"permissions.{action}: unknown action; known: {', '.join(ACTIONS)}")
        for i, role in enumerate(granted):
            need("role", roles, f"permissions.{action}[{i}]", role)
    for name, target in (
        ("initial_state", book.initial_state),
        ("rollout_target", book.rollout_target),
        ("rollback.target", book.rollback.target),
    ):
        for i, segment in enumerate(target.segments):
            need("segment", segments, f"{name}.segments[{i}]", segment)
    for i, segment in enumerate(book.external_segments):
        need("segment", segments, f"external_segments[{i}]", segment)
    for i, role in enumerate(book.rollback.sign_off_roles):
        need("role", roles, f"rollback.sign_off_roles[{i}]", role)
    for i, item in enumerate(book.completion):
        for j, role in enumerate(item.confirm_roles):
            need("role", roles, f"completion[{i}].confirm_roles[{j}]", role)
    for i, check in enumerate(book.rollback.verify.checks):
        need("metric", metrics, f"rollback.verify.checks[{i}].metric", check.metric)
    for i, alert in enumerate(book.alerts):
        need("metric", metrics, f"alerts[{i}].metric", alert.metric)
        ordered = (
            alert.warning <= alert.critical
            if alert.direction == "above"
            else (alert.warning >= alert.critical)
        )
        if not ordered:
            problems.append(
                f"alerts[{i}]: warning {alert.warning} must come before critical "
                f"{alert.critical} for direction {alert.direction}"
            )
    for i, trigger in enumerate(book.triggers):
        is_metric = trigger.metric is not None
        if is_metric:
            need("metric", metrics, f"triggers[{i}].metric", trigger.metric or "")
            if trigger.op is None or trigger.value is None:
                problems.append(
                    f"triggers[{i}] ({trigger.name}): a metric trigger needs op and value"
                )
        elif trigger.incident_severity_at_most is None:
            problems.append(
                f"triggers[{i}] ({trigger.name}): needs either metric/op/value "
                "or incident_severity_at_most"
            )
    for i, kpi in enumerate(book.kpis):
        need("metric", metrics, f"kpis[{i}].metric", kpi.metric)
    for name, metric in book.metrics.items():
        if metric.source == "prometheus" and not metric.query.strip():
            problems.append(f"metrics.{name}.query: a prometheus metric needs a PromQL query")
    for i, shift in enumerate(book.shifts):
        for j, role in enumerate(shift.owners):
            need("role", roles, f"shifts[{i}].owners[{j}]", role)
        for j, metric in enumerate(shift.metrics):
            need("metric", metrics, f"shifts[{i}].metrics[{j}]", metric)
    for j, role in enumerate(book.daily_sync.attendees):
        need("role", roles, f"daily_sync.attendees[{j}]", role)
    for j, role in enumerate(book.council.voters):
        need("role", roles, f"council.voters[{j}]", role)
    need("role", roles, "council.chair", book.council.chair)
    for j, metric in enumerate(book.first_hour_snapshots.metrics):
        need("metric", metrics, f"first_hour_snapshots.metrics[{j}]", metric)
    for kind in ("critical", "product", "question"):
        need("role", roles, f"feedback.routing.{kind}", getattr(book.feedback.routing, kind))
    return problems


def parse_playbook(text: str, source: str = "playbook") -> Playbook:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PlaybookError(source, [f"not valid YAML: {exc}"]) from None
    if not isinstance(data, dict):
        raise PlaybookError(source, ["expected a mapping of sections at the top level"])
    try:
        book = Playbook.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            value = error.get("input")
            shown = "" if error["type"] == "missing" else f" = {value!r}"
            if len(shown) > 80:
                shown = shown[:77] + "..."
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{_loc(error['loc'])}{shown}: {message}")
        raise PlaybookError(source, problems) from None
    problems = _cross_references(book)
    if problems:
        raise PlaybookError(source, problems)
    return book


def load_playbook(path: Path | str | None = None) -> Playbook:
    file = Path(path) if path else BUNDLED_PLAYBOOK
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlaybookError(str(file), [f"cannot read the file: {exc.strerror}"]) from None
    return parse_playbook(text, str(file))

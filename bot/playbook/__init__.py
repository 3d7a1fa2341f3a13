"""The playbook: one validated YAML file holding everything specific to this launch.

A bad playbook is refused whole, with every problem listed (key path, value, what is
expected); nothing is half-loaded.
"""

from bot.playbook.base import (
    ACTIONS,
    DURATION,
    FLAG_NAME,
    OPS,
    SLACK_MEMBER,
    LocalTime,
    Op,
    Percent,
    parse_duration,
    parse_local_time,
)
from bot.playbook.cadence import (
    CompletionItem,
    Council,
    DailySync,
    Milestone,
    ScheduleSettings,
    Shift,
    Snapshots,
)
from bot.playbook.comms import Communication, Communications, SupportStaffing, TimelineStep
from bot.playbook.feedback import Feedback, FeedbackKeywords, FeedbackRouting
from bot.playbook.loading import BUNDLED_PLAYBOOK, PlaybookError, load_playbook, parse_playbook
from bot.playbook.model import Channels, Playbook
from bot.playbook.monitoring import Alert, EvaluationSettings, Kpi, Metric, Trigger
from bot.playbook.phase2 import (
    LEVELS,
    BacklogItem,
    LessonHeading,
    Lessons,
    Level,
    Phase2,
    RiskDefault,
)
from bot.playbook.rollback import (
    EmailSettings,
    FlagTarget,
    Integrations,
    JiraSettings,
    MetricCheck,
    PostActions,
    Rollback,
    RollbackVerify,
)

__all__ = [
    "ACTIONS",
    "LEVELS",
    "BUNDLED_PLAYBOOK",
    "DURATION",
    "FLAG_NAME",
    "SLACK_MEMBER",
    "Alert",
    "BacklogItem",
    "Channels",
    "Communication",
    "Communications",
    "CompletionItem",
    "Council",
    "DailySync",
    "EmailSettings",
    "EvaluationSettings",
    "Feedback",
    "FeedbackKeywords",
    "FeedbackRouting",
    "FlagTarget",
    "Integrations",
    "JiraSettings",
    "Kpi",
    "LessonHeading",
    "Lessons",
    "Level",
    "LocalTime",
    "Metric",
    "MetricCheck",
    "Milestone",
    "OPS",
    "Op",
    "Percent",
    "Phase2",
    "Playbook",
    "PlaybookError",
    "PostActions",
    "RiskDefault",
    "Rollback",
    "RollbackVerify",
    "ScheduleSettings",
    "Shift",
    "Snapshots",
    "SupportStaffing",
    "TimelineStep",
    "Trigger",
    "load_playbook",
    "parse_duration",
    "parse_local_time",
    "parse_playbook",
]

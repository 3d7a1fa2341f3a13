"""Beta feedback: where each kind goes, the words that classify it, its report and SLA."""

from __future__ import annotations

from pydantic import Field, field_validator

from bot.playbook.base import LocalTime, _Strict, parse_local_time


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

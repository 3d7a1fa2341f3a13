"""The lessons-learned document: the lessons grouped under the playbook's headings, as
Markdown (`warroom export lessons --format md`) and as the data the Slack post is built from."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.playbook import LessonHeading
from storage.models import Lesson

_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_BARE = re.compile(r"<(https?://[^|>]+)>")
_CHANNEL = re.compile(r"<#[A-Z0-9]+\|([^>]+)>")


@dataclass(frozen=True)
class Document:
    title: str
    launch: str  # the playbook's name
    groups: list[tuple[LessonHeading, list[Lesson]]]  # every heading, in the playbook's order

    @property
    def count(self) -> int:
        return sum(len(lessons) for _, lessons in self.groups)

    @property
    def last_added(self) -> datetime | None:
        times = [lesson.created_at for _, lessons in self.groups for lesson in lessons]
        return max(times) if times else None

    @property
    def digest(self) -> str:
        """What the document says (which lessons, where, in which words): publishing the same
        content twice is one publication."""
        content = "\n".join(
            f"{heading.key}\t{lesson.id}\t{lesson.text}"
            for heading, lessons in self.groups
            for lesson in lessons
        )
        return hashlib.sha256(content.encode()).hexdigest()


def plain(text: str) -> str:
    """Slack's markup in a message's text as Markdown: mentions as @U…, links as links."""
    text = _USER.sub(r"@\1", text)
    text = _LINK.sub(r"[\2](\1)", text)
    text = _BARE.sub(r"\1", text)
    text = _CHANNEL.sub(r"#\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def lessons_count(count: int) -> str:
    """ "1 lesson", "4 lessons"."""
    return f"{count} lesson" if count == 1 else f"{count} lessons"


def _author(lesson: Lesson) -> str:
    return f"@{lesson.author}" if lesson.author else "unknown"


def lesson_markdown(lesson: Lesson) -> str:
    """`- text — @U… ([message](link))`; a lesson of several lines stays in its item."""
    lines = [line.strip() for line in plain(lesson.text).strip().splitlines() if line.strip()]
    source = (
        f" ([message]({lesson.link}))" if lesson.link.startswith(("https://", "http://")) else ""
    )
    body = "\n  ".join(lines)
    return f"- {body} — {_author(lesson)}{source}"


def markdown(doc: Document, zone: ZoneInfo) -> str:
    last = doc.last_added
    when = f" · last added {last.astimezone(zone):%a %d %b %Y %H:%M %Z}" if last else ""
    out = [f"# {doc.title}", "", f"{doc.launch} · {lessons_count(doc.count)}{when}"]
    for heading, lessons in doc.groups:
        out += ["", f"## {heading.title}", ""]
        out += [lesson_markdown(lesson) for lesson in lessons] or ["_No lessons yet._"]
    return "\n".join(out) + "\n"

"""/lesson's replies, the shortcut's receipt, and the lessons document as a channel post."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    HeaderBlock,
)

from bot.ids.lessons import LessonAction
from bot.phase2 import Document, Published, lessons_count
from bot.playbook import LessonHeading, Lessons
from bot.slack_out.messages.common import context, cut, link, local_time, section, user_text, who
from storage.models import Lesson

PER_HEADING = 2900  # a heading's section; the attached Markdown has every word


def lesson_line(lesson: Lesson, limit: int = 300) -> str:
    """`L3 text — @author (message)`."""
    source = f" ({link(lesson.link, 'message')})" if lesson.link else ""
    return f"L{lesson.id} {user_text(lesson.text, limit)} — {who(lesson.author)}{source}"


def move_buttons(lesson: Lesson, settings: Lessons) -> ActionsBlock:
    """A button per other heading (the action id names it: one per block, as Slack asks)."""
    return ActionsBlock(
        elements=[
            ButtonElement(
                text=f"Move to {cut(h.title, 60)}",
                action_id=f"{LessonAction.MOVE}{h.key}",
                value=f"{lesson.id}:{h.key}",
            )
            for h in settings.headings
            if h.key != lesson.heading
        ][:25]
    )


def added_reply(
    lesson: Lesson, heading: LessonHeading, new: bool, settings: Lessons
) -> tuple[str, list[Block]]:
    if new:
        text = f":books: Added to lessons learned under *{heading.title}*: {lesson_line(lesson)}"
    else:
        text = f":books: This message is already lesson L{lesson.id}, under *{heading.title}*."
    return text, [section(text), move_buttons(lesson, settings)]


def moved_reply(lesson: Lesson, heading: LessonHeading) -> str:
    return f"Done: L{lesson.id} is now under *{heading.title}*."


def removed_reply(lesson: Lesson) -> str:
    return f"Done: L{lesson.id} is removed from the lessons learned."


def _groups(doc: Document) -> list[Block]:
    blocks: list[Block] = []
    for heading, lessons in doc.groups:
        lines = "\n".join(f"• {lesson_line(lesson)}" for lesson in lessons) or "_none yet_"
        blocks.append(section(cut(f"*{heading.title}*\n{lines}", PER_HEADING)))
    return blocks


def lessons_list(doc: Document, zone: ZoneInfo) -> tuple[str, list[Block]]:
    last = f" · last added {local_time(doc.last_added, zone)}" if doc.last_added else ""
    blocks: list[Block] = [
        HeaderBlock(text=cut(doc.title, 150)),
        context(f"{lessons_count(doc.count)}{last} · `/lesson help`"),
        *_groups(doc),
    ]
    if doc.count:
        blocks.append(
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text="Publish to the channels",
                        action_id=LessonAction.PUBLISH,
                        value="publish",
                        style="primary",
                    )
                ]
            )
        )
    return f"{doc.title}: {lessons_count(doc.count)}", blocks[:50]


def document_post(doc: Document, filename: str) -> tuple[str, list[Block]]:
    """The document as a channel post; the Markdown file goes in its thread."""
    blocks: list[Block] = [
        HeaderBlock(text=cut(doc.title, 150)),
        context(
            f"{user_text(doc.launch, 200)} · {lessons_count(doc.count)} · `{filename}` in the thread"
        ),
        *_groups(doc),
    ]
    return f"{doc.title} ({lessons_count(doc.count)})", blocks[:50]


def published_reply(result: Published) -> tuple[str, list[Block]]:
    posted = ", ".join(
        link(url, channel) if url else user_text(channel) for channel, url in result.posted.items()
    )
    text = f":mega: {lessons_count(result.lessons)} published to {posted or 'no channel'}."
    blocks: list[Block] = [section(text)]
    if result.failed:
        failed = ", ".join(user_text(c) for c in result.failed)
        blocks.append(context(f":x: Not posted to {failed}: publish again to retry those."))
    return text, blocks


def help_message() -> tuple[str, list[Block]]:
    text = "\n".join(
        [
            "*/lesson* — lessons learned",
            "`/lesson TEXT` — add a lesson; start with a heading to choose it "
            "(`/lesson stability: …`)",
            "Message shortcut *Add to lessons learned* — add any message, with its author and link",
            "`/lesson list` — the lessons by heading, with *Publish*",
            "`/lesson move L3 process` · `/lesson remove L3`",
            "`/lesson publish` — post the document to the channels",
            "`warroom export lessons --format md` — the document as Markdown",
        ]
    )
    return "/lesson help", [section(text)]

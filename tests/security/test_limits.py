"""Slack's Block Kit limits hold whatever the playbook or a person wrote: headers (150),
button labels (75), sections (3,000); slack_sdk refuses to build a block past them, so a
post would be lost. Built here with over-long texts, then checked by slack_sdk itself."""

from __future__ import annotations

from bot.playbook import load_playbook
from bot.slack_out.messages import milestones as milestone_messages
from bot.slack_out.messages import schedule
from bot.slack_out.messages.common import as_dicts
from storage.models import ChecklistState


def test_long_playbook_titles_and_labels_still_make_valid_posts() -> None:
    book = load_playbook()
    long_title = "Launch checkpoint with every stakeholder " * 100  # 4,100 characters
    milestones = [m.model_copy(update={"title": long_title}) for m in book.milestones]
    shifts = [s.model_copy(update={"name": long_title}) for s in book.shifts]
    book = book.model_copy(update={"milestones": milestones, "shifts": shifts})
    text, blocks = milestone_messages.milestone_message(book, 0, run_id=1)
    built = as_dicts(blocks)  # slack_sdk validates every limit here
    sections = [b["text"]["text"] for b in built if b["type"] == "section"]
    assert sections and all(len(s) <= 3000 for s in sections) and sections[0].endswith("…")
    assert long_title.strip() in text  # the fallback text keeps it (the outbox cuts at 40,000)
    state = ChecklistState(run_id=1, shift="x", items=["check"], ticked=[])
    _, checklist = schedule.checklist_message(book, book.shifts[0], state, 1, book.zone)
    headers = [b["text"]["text"] for b in as_dicts(checklist) if b["type"] == "header"]
    assert headers and all(len(h) <= 150 and h.endswith("…") for h in headers)
    tally: dict[str, list[str]] = {}
    _, council = schedule.council_message(book, 1, tally, closed=True, outcome="advance")
    labels = [
        e["text"]["text"]
        for b in as_dicts(council)
        if b["type"] == "actions"
        for e in b["elements"]
    ]
    assert labels and all(len(label) <= 75 for label in labels)

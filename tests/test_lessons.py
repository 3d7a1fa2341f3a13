"""Lessons learned through the real app over a real socket: the "Add to lessons learned"
shortcut and /lesson capture them (author, link, heading), `warroom export lessons --format
md` writes phase1-lessons.md (checked line by line), /lesson publish posts the document to
the channels, and the completion item ticks from that record."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot import decision_log
from bot.clock import FakeClock
from bot.completion import ItemState
from bot.ids.lessons import SHORTCUT
from bot.local import payloads
from bot.local.fake_slack import Message
from bot.settings import Settings
from bot.slack_out.messages.home import evidence_text
from tests.conftest import GTM, PRODUCT, SRE, SUPPORT, LiveBot
from tests.test_export import export

OUTSIDER = "U0NOBODY01"
WAR_ROOM = "C0WARROOM1"
SAID = (
    "Go/no-go meetings worked (thanks <@U0SRE00002>); formalise the checklist with "
    "Product/QA: <https://wiki.example.com/go|the checklist>"
)
PERMALINK = "https://local.invalid/archives/C0WARROOM1/p1700000001000200"


def shortcut(bot: LiveBot, user: str, text: str, ts: str = "1700000001.000200") -> Message:
    seen = len(bot.fake.ephemerals(user))
    message = {"type": "message", "user": PRODUCT, "ts": ts, "text": text}
    url = bot.fake.response_url(WAR_ROOM, user)
    body = payloads.message_shortcut(SHORTCUT, user, WAR_ROOM, message, url)
    assert bot.post(body).status_code == 200
    return bot.ephemeral_after(seen, user)


def lesson(bot: LiveBot, text: str, user: str) -> Message:
    seen = len(bot.fake.ephemerals(user))
    assert bot.command(text, user, command="/lesson").status_code == 200
    return bot.ephemeral_after(seen, user)


def pick(bot: LiveBot, user: str, receipt: Message, value: str) -> Message:
    """A "Move to …" button of the receipt."""
    seen = len(bot.fake.ephemerals(user))
    actions = next(b for b in receipt.blocks if b["type"] == "actions")["elements"]
    button = next(b for b in actions if b["value"] == value)
    url = bot.fake.response_url(receipt.channel, user, receipt.ts)
    body = payloads.block_actions(
        user, receipt.channel, receipt.ts, button["action_id"], value, "b", url
    )
    assert bot.post(body).status_code == 200
    return bot.ephemeral_after(seen, user)


def capture(bot: LiveBot, clock: FakeClock) -> None:
    """Five lessons five minutes apart, one moved and one removed."""
    shortcut(bot, SRE, SAID)
    clock.advance(timedelta(minutes=5))
    lesson(bot, "Peak usage 79 %, beta users positive; keep real-time feedback", PRODUCT)
    clock.advance(timedelta(minutes=5))
    text = "stability: error_rate down 79.8 %; confirm regression tests cover critical checkout"
    lesson(bot, text, SRE)
    clock.advance(timedelta(minutes=5))
    receipt = lesson(bot, "feature_usage_rate fell 10 % on day 3: plan guided onboarding", GTM)
    assert "under *Adoption*" in receipt.text  # by its words
    assert pick(bot, GTM, receipt, "4:risks").text == "Done: L4 is now under *Risks*."
    clock.advance(timedelta(minutes=5))
    lesson(bot, "remove this one", SUPPORT)
    assert lesson(bot, "remove L5", SUPPORT).text == "Done: L5 is removed from the lessons learned."


def test_the_shortcut_adds_a_message_with_its_author_and_link(live_bot: LiveBot) -> None:
    receipt = shortcut(live_bot, SRE, SAID)
    assert receipt.text == (
        ":books: Added to lessons learned under *Process*: L1 Go/no-go meetings worked (thanks "
        "&lt;@U0SRE00002&gt;); formalise the checklist with Product/QA: "
        "&lt;https://wiki.example.com/go|the checklist&gt; — <@U0PROD0001> "
        f"(<{PERMALINK}|message>)"
    )
    moves = next(b for b in receipt.blocks if b["type"] == "actions")["elements"]
    assert [(b["text"]["text"], b["action_id"], b["value"]) for b in moves] == [
        ("Move to Adoption", "lessons.move.adoption", "1:adoption"),
        ("Move to Risks", "lessons.move.risks", "1:risks"),
        ("Move to Stability", "lessons.move.stability", "1:stability"),
    ]
    [stored] = live_bot.services.lessons.lessons()
    assert (stored.author, stored.added_by, stored.link) == (PRODUCT, SRE, PERMALINK)
    again = shortcut(live_bot, SUPPORT, SAID)  # the same message: once
    assert again.text == ":books: This message is already lesson L1, under *Process*."
    asked = len(live_bot.fake.calls_to("chat.getPermalink"))
    refused = shortcut(live_bot, OUTSIDER, "anything")
    assert "You may not `lessons.add`" in refused.text
    assert len(live_bot.fake.calls_to("chat.getPermalink")) == asked  # refused before Slack
    empty = shortcut(live_bot, SRE, "", ts="1700000002.000300")
    assert "There is no text to add as a lesson." in empty.text
    assert len(live_bot.services.lessons.lessons()) == 1
    [record] = decision_log.recent(live_bot.services.engine, 5, "lessons.")
    assert (record.action, record.actor, record.subject) == ("lessons.add", SRE, "L1")
    assert record.after == {"heading": "process", "author": PRODUCT, "link": PERMALINK}


def test_lesson_command_headings_moves_and_removals(live_bot: LiveBot, clock: FakeClock) -> None:
    capture(live_bot, clock)
    named = live_bot.services.lessons.lesson("L3")
    assert (named.heading, named.text.split(";")[0]) == ("stability", "error_rate down 79.8 %")
    assert live_bot.services.lessons.lesson("2").heading == "adoption"
    not_theirs = lesson(live_bot, "remove L2", GTM)
    assert "L2 was added by someone else" in not_theirs.text
    unknown = lesson(live_bot, "move L9 process", GTM)
    assert "There is no lesson `L9`." in unknown.text
    heading = lesson(live_bot, "move L2 marketing", GTM)
    assert "`marketing` is not a heading. Known: `adoption`, `risks`" in heading.text
    prose = lesson(live_bot, "publish early, publish often", GTM)  # not the subcommand's shape
    assert "under *Process*: L6 publish early, publish often" in prose.text
    listing = lesson(live_bot, "list", SUPPORT)
    assert listing.text == "Phase 1 — lessons learned: 5 lessons"
    sections = [b["text"]["text"] for b in listing.blocks if b["type"] == "section"]
    assert [s.split("\n")[0] for s in sections] == [
        "*Adoption*",
        "*Risks*",
        "*Stability*",
        "*Process*",
    ]
    assert sections[1] == (
        "*Risks*\n• L4 feature_usage_rate fell 10 % on day 3: plan guided onboarding — <@U0GTM00001>"
    )


def test_export_writes_phase1_lessons_md(
    live_bot: LiveBot, settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    capture(live_bot, clock)
    result = export(settings, tmp_path, "lessons", "--format", "md")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "exported 4 lesson(s) to phase1-lessons.md"
    lines = (tmp_path / "phase1-lessons.md").read_text(encoding="utf-8").split("\n")
    assert lines == [
        "# Phase 1 — lessons learned",
        "",
        "Phase 1 — external beta at 25 % · 4 lessons · last added Mon 30 Nov 2026 10:15 CET",
        "",
        "## Adoption",
        "",
        "- Peak usage 79 %, beta users positive; keep real-time feedback — @U0PROD0001",
        "",
        "## Risks",
        "",
        "- feature_usage_rate fell 10 % on day 3: plan guided onboarding — @U0GTM00001",
        "",
        "## Stability",
        "",
        "- error_rate down 79.8 %; confirm regression tests cover critical checkout — @U0SRE00001",
        "",
        "## Process",
        "",
        "- Go/no-go meetings worked (thanks @U0SRE00002); formalise the checklist with "
        "Product/QA: [the checklist](https://wiki.example.com/go) — @U0PROD0001 "
        f"([message]({PERMALINK}))",
        "",
    ]
    rows = export(settings, tmp_path, "lessons", "--format", "json", "--out", "-")
    assert rows.stdout.count('"heading"') == 4 and '"id": "L4"' in rows.stdout


def test_publish_posts_the_document_and_ticks_the_checklist(
    live_bot: LiveBot, clock: FakeClock
) -> None:
    services, fake = live_bot.services, live_bot.fake

    def state() -> ItemState:
        return next(s for s in services.completion.states() if s.item.key == "lessons_published")

    assert "There are no lessons to publish yet." in lesson(live_bot, "publish", PRODUCT).text
    capture(live_bot, clock)
    assert not state().done and not state().needs_confirmation
    assert "You may not `lessons.publish`" in lesson(live_bot, "publish", SUPPORT).text

    fake.fail_next("chat.postMessage", 200, error="not_in_channel")  # the war room refuses it
    partial = lesson(live_bot, "publish", PRODUCT)
    assert ":x: Not posted to #phase1-war-room: publish again to retry those." in str(
        partial.blocks
    )
    assert not state().done  # not every channel has it
    clock.advance(timedelta(minutes=5))
    listing = lesson(live_bot, "list", SRE)
    publish = next(b for b in listing.blocks if b["type"] == "actions")["elements"][0]
    url = fake.response_url(listing.channel, SRE, listing.ts)
    seen = len(fake.ephemerals(SRE))
    body = payloads.block_actions(
        SRE, listing.channel, listing.ts, publish["action_id"], publish["value"], "b", url
    )
    assert live_bot.post(body).status_code == 200
    done = live_bot.ephemeral_after(seen, SRE)
    assert done.text.startswith(":mega: 4 lessons published to ")
    channels = ["#phase1-war-room", "#phase1-product", "#phase1-support"]
    posts = {c: fake.channel_messages(c) for c in channels}
    assert {c: len(p) for c, p in posts.items()} == {c: 1 for c in channels}  # once each
    assert posts["#phase1-product"][0].text == "Phase 1 — lessons learned (4 lessons)"
    files = fake.wait_for(lambda f: len(f.files) == 3 and f.files)
    document = files[0].data.decode()
    assert {f.filename for f in files} == {"phase1-lessons.md"}
    assert document.startswith("# Phase 1 — lessons learned\n") and "## Stability" in document

    assert state().done
    first = evidence_text(state().evidence[0])
    assert first == (
        "4 lessons published by <@U0SRE00001> Mon 30 Nov 10:25 CET to #phase1-war-room, "
        "#phase1-product, #phase1-support"
    )
    again = lesson(live_bot, "publish", PRODUCT)
    assert "These 4 lessons were already published (Mon 30 Nov 10:25 CET)." in again.text
    lesson(live_bot, "process: post the lessons before the council", PRODUCT)
    assert evidence_text(state().evidence[-1]) == (
        "changed since: 5 lessons now (`/lesson publish` again)"
    )
    records = decision_log.recent(services.engine, 5, "lessons.publish")
    assert [(r.actor, r.outcome) for r in reversed(records)] == [
        (PRODUCT, "partial"),
        (SRE, "applied"),
    ]

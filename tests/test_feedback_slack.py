"""/feedback's form and the "Log as beta feedback" shortcut, through the real app over a
real socket with signed requests; the loopback Slack server plays Slack."""

from __future__ import annotations

import time

import pytest
from sqlmodel import Session, select

from bot.ids.feedback import SHORTCUT, FeedbackBlock
from bot.local import payloads
from bot.local.fake_slack import FakeSlack
from bot.playbook import load_playbook
from storage.models import FeedbackItem
from tests.conftest import PRODUCT, SRE, SUPPORT, LiveBot

OUTSIDER = "U0NOBODY01"


def stored_items(bot: LiveBot) -> list[FeedbackItem]:
    with Session(bot.services.engine) as session:
        return list(session.exec(select(FeedbackItem)))


def open_form(bot: LiveBot, user: str = SUPPORT) -> dict:
    assert bot.command("", user, command="/feedback").status_code == 200
    return bot.fake.wait_for(lambda f: f.views and f.views[-1])


def submit(bot: LiveBot, form: dict, user: str = SUPPORT, **values: str | None) -> dict:
    answers = {
        FeedbackBlock.RATING: "4",
        FeedbackBlock.CATEGORY: None,
        FeedbackBlock.FLAG: None,
        FeedbackBlock.TEXT: "Smart prices confuse me",
    }
    answers.update({getattr(FeedbackBlock, k.upper()): v for k, v in values.items()})
    body = payloads.view_submission(
        user, form, {block: {FeedbackBlock.INPUT: value} for block, value in answers.items()}
    )
    response = bot.post(body)
    assert response.status_code == 200
    return response.json() if response.content else {}


def test_feedback_opens_the_form_with_rating_category_flag_and_text(live_bot: LiveBot) -> None:
    form = open_form(live_bot)
    inputs = {b["block_id"]: b for b in form["blocks"] if b["type"] == "input"}
    assert list(inputs) == [
        FeedbackBlock.RATING,
        FeedbackBlock.CATEGORY,
        FeedbackBlock.FLAG,
        FeedbackBlock.TEXT,
    ]
    assert [o["value"] for o in inputs[FeedbackBlock.RATING]["element"]["options"]] == list("12345")
    assert [o["value"] for o in inputs[FeedbackBlock.FLAG]["element"]["options"]] == [
        "ADVANCED_CHECKOUT",
        "SMART_PRICING",
    ]
    assert inputs[FeedbackBlock.TEXT]["element"]["max_length"] == 2000
    assert form["private_metadata"] == "#phase1-war-room"


def test_someone_without_a_role_is_told_and_their_form_files_nothing(live_bot: LiveBot) -> None:
    form = open_form(live_bot, OUTSIDER)  # opened before the role check: trigger_id is short
    refusal = live_bot.ephemeral_after(0, OUTSIDER)
    assert "You may not `feedback.file`" in refusal.text
    submit(live_bot, form, OUTSIDER)
    live_bot.ephemeral_after(1, OUTSIDER)
    assert stored_items(live_bot) == []


GROUP_BOOK = load_playbook()
GROUP_BOOK.roles["support"] = ["S0SUPPORT1"]  # a Slack user group, resolved on demand


@pytest.mark.parametrize("playbook", [GROUP_BOOK])
def test_the_form_opens_at_once_while_user_groups_are_rate_limited(live_bot: LiveBot) -> None:
    live_bot.fake.usergroups["S0SUPPORT1"] = [SUPPORT]
    live_bot.fake.fail_next("usergroups.users.list", 429, times=2, retry_after=2)
    started = time.perf_counter()
    form = open_form(live_bot, SUPPORT)
    assert time.perf_counter() - started < 1.0  # well inside trigger_id's 3 s
    live_bot.fake.wait_for(lambda f: len(f.calls_to("usergroups.users.list")) == 3, timeout=10)
    submit(live_bot, form, SUPPORT)
    assert live_bot.ephemeral_after(0, SUPPORT).text.startswith("Filed as beta feedback #1")


@pytest.mark.parametrize(
    ("values", "block", "message"),
    [
        ({"rating": None}, FeedbackBlock.RATING, "Pick a rating from 1 to 5."),
        ({"rating": "9"}, FeedbackBlock.RATING, "Pick a rating from 1 to 5."),
        ({"text": "x" * 2001}, FeedbackBlock.TEXT, "At most 2000 characters (this is 2001)."),
        ({"text": "   "}, FeedbackBlock.TEXT, "Say what happened or what would help."),
        ({"flag": "NO_SUCH_FLAG"}, FeedbackBlock.FLAG, "Pick one of the launch flags."),
        ({"category": "rant"}, FeedbackBlock.CATEGORY, "Pick one of the listed categories."),
    ],
)
def test_a_bad_form_is_answered_next_to_the_field_and_nothing_is_stored(
    live_bot: LiveBot, values: dict, block: str, message: str
) -> None:
    form = open_form(live_bot)
    forged = {"rating": "9", "flag": "NO_SUCH_FLAG", "category": "rant"}
    for index, field in enumerate(("rating", "category", "flag")):
        if values.get(field) == forged[field]:  # not an option of the form: as a client could
            form["blocks"][index]["element"]["options"].append(
                {"text": {"type": "plain_text", "text": "x"}, "value": forged[field]}
            )
    answer = submit(live_bot, form, **values)
    assert answer["response_action"] == "errors" and answer["errors"][block] == message
    assert live_bot.services.feedback.count() == 0


def test_a_good_form_is_stored_routed_and_acknowledged(live_bot: LiveBot) -> None:
    form = open_form(live_bot)
    answer = submit(
        live_bot, form, rating="2", category="bug", flag="SMART_PRICING", text="Price flickers"
    )
    assert answer == {}  # the form closes
    receipt = live_bot.ephemeral_after(0, SUPPORT)
    assert receipt.text == (
        "Filed as beta feedback #1 (Bug); routed to the SRE / observability lead."
    )
    routed = live_bot.fake.wait_for(lambda f: f.channel_messages("#phase1-war-room"))[0]
    assert "#1 (modal, bug) 2/5 on SMART_PRICING" in routed.text and "<@U0SRE00001>" in routed.text
    [row] = stored_items(live_bot)
    assert (row.source, row.user_id, row.rating, row.category, row.classified_by) == (
        "modal",
        SUPPORT,
        2,
        "bug",
        "form",
    )


def test_a_receipt_the_channel_cannot_take_comes_as_a_direct_message(live_bot: LiveBot) -> None:
    live_bot.fake.unreachable.add("#phase1-war-room")  # postEphemeral: channel_not_found
    submit(live_bot, open_form(live_bot), text="Price flickers")
    dm = live_bot.fake.wait_for(lambda f: f.channel_messages(SUPPORT))
    assert dm[0].text.startswith("Filed as beta feedback #1")
    assert live_bot.fake.ephemerals(SUPPORT) == []
    assert len(stored_items(live_bot)) == 1


def shortcut(bot: LiveBot, user: str, message: dict, channel: str = "C0BETA0001") -> None:
    url = bot.fake.response_url(channel, user)
    body = payloads.message_shortcut(SHORTCUT, user, channel, message, url)
    assert bot.post(body).status_code == 200


def test_the_shortcut_files_a_message_once_with_its_author_and_link(
    live_bot: LiveBot, fake_slack: FakeSlack
) -> None:
    message = {
        "type": "message",
        "user": "U0CUSTOMER",
        "ts": "1700000001.000200",
        "text": "How do I turn off smart pricing?",
    }
    shortcut(live_bot, PRODUCT, message)
    receipt = live_bot.ephemeral_after(0, PRODUCT)
    assert receipt.text == "Filed as beta feedback #1 (Question); routed to customer success."
    routed = fake_slack.wait_for(lambda f: f.channel_messages("#phase1-support"))[0]
    link = "https://local.invalid/archives/C0BETA0001/p1700000001000200"
    assert f"<{link}|message>" in routed.text and "<@U0SUPP0001>" in routed.text
    shortcut(live_bot, SRE, message)  # someone else files the same message
    assert live_bot.ephemeral_after(0, SRE).text == (
        "That message is already filed as beta feedback #1."
    )
    assert live_bot.services.feedback.count() == 1
    call = fake_slack.calls_to("chat.getPermalink")[0]
    assert call.params["channel"] == "C0BETA0001"
    [row] = stored_items(live_bot)
    assert (row.source, row.user_id, row.link, row.rating) == ("slack", "U0CUSTOMER", link, None)


def test_the_shortcut_refuses_someone_without_a_role(live_bot: LiveBot) -> None:
    shortcut(live_bot, OUTSIDER, {"type": "message", "user": "U1", "ts": "1.2", "text": "hi"})
    assert "You may not `feedback.file`" in live_bot.ephemeral_after(0, OUTSIDER).text
    assert live_bot.services.feedback.count() == 0
    assert live_bot.fake.calls_to("chat.getPermalink") == []


def test_a_forged_form_from_someone_without_a_role_stores_nothing(live_bot: LiveBot) -> None:
    form = open_form(live_bot)  # opened by support; submitted as someone else
    assert submit(live_bot, form, user=OUTSIDER) == {}
    refusal = live_bot.fake.wait_for(lambda f: f.ephemerals(OUTSIDER) and f.ephemerals(OUTSIDER)[0])
    assert "You may not `feedback.file`" in refusal.text
    assert live_bot.services.feedback.count() == 0


def test_a_message_without_text_is_refused_with_what_to_do(live_bot: LiveBot) -> None:
    shortcut(live_bot, PRODUCT, {"type": "message", "user": "U1", "ts": "1.2", "text": ""})
    reply = live_bot.ephemeral_after(0, PRODUCT)
    assert "That message has no text to file." in str(reply.blocks)
    assert "Put what matters into `/feedback` instead." in str(reply.blocks)
    assert live_bot.services.feedback.count() == 0

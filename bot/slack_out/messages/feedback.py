"""The /feedback form and the replies to filing feedback."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.ids.feedback import FeedbackBlock, FeedbackView
from bot.playbook import Playbook
from storage.models import FeedbackItem

CATEGORIES = {
    "bug": "Bug",
    "product_request": "Product request",
    "question": "Question",
    "praise": "Praise",
}
ROUTE_TEXT = {
    "critical": "the SRE / observability lead",
    "product": "the product lead",
    "question": "customer success",
}


def _select(block_id: str, label: str, options: dict[str, str], optional: bool) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=label,
        optional=optional,
        element=StaticSelectElement(
            action_id=FeedbackBlock.INPUT,
            options=[Option(value=value, label=text) for value, text in options.items()],
        ),
    )


def feedback_form(book: Playbook, channel: str) -> View:
    return View(
        type="modal",
        callback_id=FeedbackView.FORM,
        private_metadata=channel,
        title="Beta feedback",
        submit="File it",
        close="Cancel",
        blocks=[
            _select(FeedbackBlock.RATING, "Rating", {str(r): f"{r} ★" for r in range(1, 6)}, False),
            _select(FeedbackBlock.CATEGORY, "Category", CATEGORIES, True),
            _select(FeedbackBlock.FLAG, "Which flag", {f: f for f in book.flags}, True),
            InputBlock(
                block_id=FeedbackBlock.TEXT,
                label="What happened, or what would help?",
                element=PlainTextInputElement(
                    action_id=FeedbackBlock.INPUT,
                    multiline=True,
                    max_length=min(book.feedback.max_text_length, 3000),
                ),
            ),
        ],
    )


def filed_text(item: FeedbackItem, new: bool) -> str:
    if not new:
        return f"That message is already filed as beta feedback #{item.id}."
    return (
        f"Filed as beta feedback #{item.id} ({CATEGORIES.get(item.category, item.category)}); "
        f"routed to {ROUTE_TEXT[item.route]}."
    )

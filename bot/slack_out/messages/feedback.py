"""The /feedback form, its field errors and the replies to filing feedback."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic_core import ErrorDetails
from slack_sdk.models.blocks import (
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.feedback_input import Category, Route
from bot.ids.feedback import FeedbackBlock, FeedbackView
from bot.playbook import Playbook
from storage.models import FeedbackItem

ROUTE_TEXT = {
    Route.CRITICAL: "the SRE / observability lead",
    Route.PRODUCT: "the product lead",
    Route.QUESTION: "customer success",
}
BLOCK_OF_FIELD = {
    "rating": FeedbackBlock.RATING,
    "category": FeedbackBlock.CATEGORY,
    "flag": FeedbackBlock.FLAG,
    "text": FeedbackBlock.TEXT,
}
FIELD_ERRORS = {
    "rating": "Pick a rating from 1 to 5.",
    "category": "Pick one of the listed categories.",
    "flag": "Pick one of the launch flags.",
    "text": "Say what happened or what would help.",
}


def label(category: str) -> str:
    """`product_request` → "Product request"."""
    return category.replace("_", " ").capitalize()


def form_errors(errors: Sequence[ErrorDetails]) -> dict[str, str]:
    """`FeedbackFields`' errors, in words, next to the form's fields (the first per field)."""
    shown: dict[str, str] = {}
    for error in errors:
        field = str(error["loc"][0]) if error["loc"] else ""
        block = BLOCK_OF_FIELD.get(field)
        if block is None or block in shown:
            continue
        ctx = error.get("ctx") or {}
        shown[block] = (
            f"At most {ctx['limit']} characters (this is {ctx['length']})."
            if error["type"] == "text_too_long"
            else FIELD_ERRORS[field]
        )
    return shown


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
            _select(FeedbackBlock.CATEGORY, "Category", {c: label(c) for c in Category}, True),
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
        f"Filed as beta feedback #{item.id} ({label(item.category)}); "
        f"routed to {ROUTE_TEXT[Route(item.route)]}."
    )

"""What feedback is and the rules it must meet, from any way in: the widget and survey
API (`FeedbackIn`) and the /feedback form (`FeedbackFields`) share them."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError


class Category(StrEnum):
    """What a piece of feedback is; the form, the reports and the export all list these."""

    BUG = "bug"
    PRODUCT_REQUEST = "product_request"
    QUESTION = "question"
    PRAISE = "praise"


class Route(StrEnum):
    """Who looks at it: the SRE/observability lead, the product lead, customer success."""

    CRITICAL = "critical"
    PRODUCT = "product"
    QUESTION = "question"


ROUTE_OF_CATEGORY = {
    Category.BUG: Route.CRITICAL,
    Category.PRODUCT_REQUEST: Route.PRODUCT,
    Category.QUESTION: Route.QUESTION,
    Category.PRAISE: Route.PRODUCT,
}


class TextTooLong(ValueError):
    """The text is over the playbook's `feedback.max_text_length`."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} characters")
        self.limit = limit


class FeedbackFields(BaseModel):
    """What a person tells us, by any way in: the rules the API and the /feedback form
    share. Validated with `FeedbackService.rules()` as context, which adds the playbook's
    text limit and launch flags."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    rating: int = Field(ge=1, le=5)
    text: str = Field(min_length=1)
    flag: str = Field("", max_length=64)
    category: Category | None = None

    @field_validator("text", "flag")
    @classmethod
    def _no_control_characters(cls, value: str) -> str:
        if any(ord(c) < 32 and c not in "\n\t" for c in value):
            raise PydanticCustomError("control_character", "control characters are not allowed")
        return value

    @field_validator("text")
    @classmethod
    def _text_fits(cls, text: str, info: ValidationInfo) -> str:
        limit = (info.context or {}).get("max_text_length")
        if limit is not None and len(text) > limit:
            raise PydanticCustomError(
                "text_too_long",
                "at most {limit} characters (this is {length})",
                {"limit": limit, "length": len(text)},
            )
        return text

    @field_validator("flag")
    @classmethod
    def _known_flag(cls, flag: str, info: ValidationInfo) -> str:
        flags = (info.context or {}).get("flags")
        if flag and flags is not None and flag not in flags:
            raise PydanticCustomError(
                "unknown_flag", "not a launch flag (one of {flags})", {"flags": ", ".join(flags)}
            )
        return flag


class FeedbackIn(FeedbackFields):
    """One item as the checkout widget or the in-app survey sends it."""

    source: Literal["widget", "survey"]
    user_id: str = Field("", max_length=128)
    idempotency_key: str | None = Field(None, min_length=1, max_length=128)

    @field_validator("rating", mode="before")
    @classmethod
    def _a_json_integer(cls, rating: object) -> object:
        # JSON's `true` would pass as 1 and "5" as 5; the form's strings go through FeedbackFields
        if isinstance(rating, bool) or not isinstance(rating, int):
            raise PydanticCustomError("int_type", "a whole number from 1 to 5")
        return rating

"""Where the launch flags live: the embedded store (default), Unleash, or an in-house HTTP
flag service. Addresses and secrets come from the environment; what to drive comes here."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bot.playbook.base import _Strict


class UnleashSettings(_Strict):
    """Unleash's Admin API (UNLEASH_URL, UNLEASH_ADMIN_TOKEN in the environment)."""

    project: str = "default"
    environment: str = "production"


class HttpFlagSettings(_Strict):
    """An in-house flag service (FLAGS_HTTP_URL, FLAGS_HTTP_TOKEN in the environment)."""


class FlagProviderSettings(_Strict):
    kind: Literal["embedded", "unleash", "http"] = "embedded"
    unleash: UnleashSettings = Field(default_factory=UnleashSettings)
    http: HttpFlagSettings = Field(default_factory=HttpFlagSettings)

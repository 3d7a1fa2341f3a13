"""Where the launch flags live: the embedded store (default), Unleash, or an in-house HTTP
flag service. Addresses and secrets come from the environment; what to drive comes here."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from bot.playbook.base import _Strict


class UnleashSettings(_Strict):
    """Unleash's Admin API (UNLEASH_URL, UNLEASH_ADMIN_TOKEN in the environment). warroom's
    launch percentage is the `rollout` of one flexibleRollout strategy titled `strategy_title`,
    its segments an `IN` constraint on the context field `segment_field`; a per-user rule is
    any other strategy with a `userId` constraint, its segment that of its `segment_field`
    constraint."""

    project: str = "default"
    environment: str = "production"
    strategy_title: str = "warroom"
    segment_field: str = "segment"
    timeout_seconds: float = Field(5, gt=0)
    attempts: int = Field(3, ge=1, le=10)
    backoff_seconds: float = Field(0.2, ge=0)


class HttpCall(_Strict):
    """One call to the flag service. `url` is a template: `{base}` (FLAGS_HTTP_URL), `{flag}`,
    `{segment}` (the call is made once per segment). In `body`, a string that is exactly
    `{percent}`, `{segments}`, `{flag}` or `{actor}` becomes that value with its JSON type;
    other strings are filled in as text."""

    method: Literal["GET", "PUT", "POST", "PATCH", "DELETE"] = "GET"
    url: str
    body: dict[str, Any] | None = None


class HttpFlagFields(_Strict):
    """Where each part of a flag is in the service's JSON answer: dotted paths
    (`rollout.percentage`). An empty path: the service does not give it."""

    name: str = "key"
    percent: str = "percentage"
    segments: str = "segments"
    enabled: str = "enabled"
    version: str = "version"  # used when the answer has no ETag header
    updated_by: str = "updated_by"
    updated_at: str = "updated_at"
    user_rules: str = "user_rules"  # a count, or a list (its length is the count)


class HttpFlagSettings(_Strict):
    """An in-house flag service (FLAGS_HTTP_URL, FLAGS_HTTP_TOKEN in the environment)."""

    timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    attempts: int = Field(default=3, ge=1, le=10)  # on connection errors and 5xx
    backoff_seconds: float = Field(default=0.2, ge=0, le=10)  # doubled after each try
    token_header: str = "Authorization"
    token_prefix: str = "Bearer "
    get: HttpCall = HttpCall(url="{base}/flags/{flag}")
    # the list of flags; `items` is the path to the array in the answer ("" = the answer)
    list_all: HttpCall | None = HttpCall(url="{base}/flags")
    list_items: str = "flags"
    set: HttpCall = HttpCall(
        method="PUT",
        url="{base}/flags/{flag}",
        body={"percentage": "{percent}", "segments": "{segments}", "updated_by": "{actor}"},
    )
    clear_rules: HttpCall = HttpCall(
        method="DELETE", url="{base}/flags/{flag}/user-rules/{segment}"
    )
    removed: str = "removed"  # path to how many rules went, in clear_rules' answer
    health: HttpCall | None = HttpCall(url="{base}/health")
    # the token's rights: `rights_field` is a boolean, or a list/string holding `write`
    rights: HttpCall | None = HttpCall(url="{base}/auth/check")
    rights_field: str = "can_write"
    fields: HttpFlagFields = Field(default_factory=HttpFlagFields)


class FlagProviderSettings(_Strict):
    kind: Literal["embedded", "unleash", "http"] = "embedded"
    unleash: UnleashSettings = Field(default_factory=UnleashSettings)
    http: HttpFlagSettings = Field(default_factory=HttpFlagSettings)

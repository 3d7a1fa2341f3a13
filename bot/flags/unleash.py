"""Unleash as the flag provider, over its Admin API (httpx).

How warroom's model maps onto Unleash (playbook `flag_provider.unleash`):
- a launch flag is a feature toggle of the project, read and changed in one environment;
- its percentage and segments are one `flexibleRollout` strategy titled `strategy_title`
  (`rollout` = the percentage, an `IN` constraint on `segment_field` = the segments);
- a per-user rule is any other strategy with a `userId` constraint; its segments are those
  of its `segment_field` constraint. Emptying the external user rules deletes those
  strategies whose segments are all among the segments named.
A flag's `version` is a hash of what is read (enabled, every strategy), so a write that names
an older version re-reads and is refused with FlagConflict. Connection errors and 5xx answers
are retried with backoff; a flag is then read back, so a write is either seen or refused."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from bot.flags.base import FlagConflict, FlagProviderError, FlagView, ProviderHealth
from bot.playbook.flags import UnleashSettings

Json = dict[str, Any]


class UnleashProvider:
    name = "unleash"
    recorded_changes_only = False  # Unleash's UI and API change flags too: watch for drift

    def __init__(
        self,
        url: str,
        token: str,
        settings: UnleashSettings,
        known_flags: Sequence[str] = (),
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.known_flags = list(known_flags)
        self.sleep = sleep
        self._http = httpx.Client(
            base_url=url.rstrip("/"),
            headers={"Authorization": token},
            timeout=settings.timeout_seconds,
            transport=transport,
        )

    # ---- the contract ----------------------------------------------------------------------
    def list_flags(self) -> list[FlagView]:
        return [self.get(flag) for flag in self.known_flags]

    def get(self, flag: str) -> FlagView:
        view = self._view(flag, self._environment(flag))
        at, by = self._last_change(flag)
        return replace(view, updated_at=at, updated_by=by)

    def _last_change(self, flag: str) -> tuple[datetime | None, str]:
        """Who changed the flag in this environment last, and when, from Unleash's event log
        (best effort: an older Unleash or a token without the right leaves them blank)."""
        try:
            answer = self._call(
                "GET", f"/api/admin/events/{quote(flag, safe='')}", flag, attempts=1
            )
        except FlagProviderError:
            return None, ""
        mine = [
            e
            for e in answer.get("events") or []
            if e.get("createdAt") and e.get("environment") in (None, self.settings.environment)
        ]
        if not mine:
            return None, ""
        last = max(mine, key=lambda e: str(e["createdAt"]))
        at = datetime.fromisoformat(str(last["createdAt"]).replace("Z", "+00:00"))
        return at, str(last.get("createdBy") or "")

    def set(
        self,
        flag: str,
        percent: int,
        segments: list[str],
        actor: str,
        expected_version: str | None = None,
    ) -> FlagView:
        env = self._environment(flag)
        if expected_version is not None and self._view(flag, env).version != expected_version:
            raise FlagConflict(f"{flag} changed in Unleash since it was read", flag)
        body = self._strategy_body(flag, percent, segments)
        ours = self._ours(env)
        if ours is None:
            self._call("POST", f"{self._env_path(flag)}/strategies", flag, body)
        else:
            self._call("PUT", f"{self._env_path(flag)}/strategies/{ours['id']}", flag, body)
        # never switched on here: a flag someone switched off in Unleash stays off (the
        # rollout service refuses to raise it; a rollback's revert lowers it and leaves it off)
        return self.get(flag)

    def clear_user_rules(self, flag: str, segments: list[str], actor: str) -> int:
        removed = 0
        for strategy in self._user_strategies(self._environment(flag)):
            if set(self._segments_of(strategy)) <= set(segments):
                self._call("DELETE", f"{self._env_path(flag)}/strategies/{strategy['id']}", flag)
                removed += len(self._constraint(strategy, "userId"))
        return removed

    def health(self, flags: Sequence[str]) -> ProviderHealth:
        try:
            self._call("GET", "/health", "", attempts=1)
            answer = self._call(
                "GET", f"/api/admin/projects/{self._project}/features", "", attempts=1
            )
        except FlagProviderError as exc:
            return ProviderHealth(False, f"unleash: {exc.message}")
        names = {f.get("name") for f in answer.get("features", [])}
        missing = [f for f in flags if f not in names]
        if missing:
            return ProviderHealth(
                False,
                f"unleash: {', '.join(missing)} missing from project {self.settings.project}",
                missing,
            )
        return ProviderHealth(True, f"unleash: {len(flags)} of {len(flags)} launch flags")

    # ---- reading ---------------------------------------------------------------------------
    @property
    def _project(self) -> str:
        return quote(self.settings.project, safe="")

    def _env_path(self, flag: str) -> str:
        env = quote(self.settings.environment, safe="")
        return f"/api/admin/projects/{self._project}/features/{quote(flag, safe='')}/environments/{env}"

    def _environment(self, flag: str) -> Json:
        feature = self._call(
            "GET", f"/api/admin/projects/{self._project}/features/{quote(flag, safe='')}", flag
        )
        env = next(
            (
                e
                for e in feature.get("environments", [])
                if e.get("name") == self.settings.environment
            ),
            None,
        )
        if env is None:
            raise FlagProviderError(
                f"{flag} has no environment {self.settings.environment} in Unleash", flag
            )
        found: Json = env
        return found

    def _ours(self, env: Json) -> Json | None:
        return next(
            (
                s
                for s in env.get("strategies", [])
                if s.get("title") == self.settings.strategy_title
            ),
            None,
        )

    def _user_strategies(self, env: Json) -> list[Json]:
        return [
            s
            for s in env.get("strategies", [])
            if s.get("title") != self.settings.strategy_title and self._constraint(s, "userId")
        ]

    @staticmethod
    def _constraint(strategy: Json, field: str) -> list[str]:
        return [
            str(v)
            for c in strategy.get("constraints") or []
            if c.get("contextName") == field and c.get("operator") == "IN"
            for v in c.get("values") or []
        ]

    def _segments_of(self, strategy: Json) -> list[str]:
        return self._constraint(strategy, self.settings.segment_field)

    def _view(self, flag: str, env: Json) -> FlagView:
        ours = self._ours(env)
        percent = int(float((ours or {}).get("parameters", {}).get("rollout", 0))) if ours else 0
        users = sum(len(self._constraint(s, "userId")) for s in self._user_strategies(env))
        return FlagView(
            name=flag,
            percent=percent,
            segments=self._segments_of(ours) if ours else [],
            user_rules=users,
            enabled=bool(env.get("enabled")),
            version=_version(env),
        )

    def _strategy_body(self, flag: str, percent: int, segments: list[str]) -> Json:
        return {
            "name": "flexibleRollout",
            "title": self.settings.strategy_title,
            "parameters": {"rollout": str(percent), "stickiness": "default", "groupId": flag},
            "constraints": [
                {"contextName": self.settings.segment_field, "operator": "IN", "values": segments}
            ],
        }

    # ---- HTTP --------------------------------------------------------------------------------
    def _call(
        self, method: str, path: str, flag: str, body: Json | None = None, attempts: int = 0
    ) -> Json:
        """The call, retried with backoff on connection errors and 5xx answers."""
        tries = attempts or self.settings.attempts
        problem = ""
        for attempt in range(1, tries + 1):
            try:
                answer = self._http.request(method, path, json=body)
            except httpx.HTTPError as exc:
                problem = f"Unleash did not answer ({type(exc).__name__})"
            else:
                if answer.status_code < 500:
                    return _answer(answer, flag)
                problem = f"Unleash answered {answer.status_code}"
            if attempt < tries:
                self.sleep(self.settings.backoff_seconds * 2 ** (attempt - 1))
        raise FlagProviderError(f"{problem} to {method} {path} (tried {tries}×)", flag)


def _answer(answer: httpx.Response, flag: str) -> Json:
    if answer.status_code in (401, 403):
        raise FlagProviderError(
            f"Unleash refused the token ({answer.status_code}): it needs an admin token", flag
        )
    if answer.status_code == 404:
        raise FlagProviderError(f"Unleash does not know {flag or 'that'} (404)", flag)
    if answer.status_code >= 400:
        raise FlagProviderError(f"Unleash refused the change ({answer.status_code})", flag)
    if not answer.content:
        return {}
    data = answer.json()
    return data if isinstance(data, dict) else {"items": data}


def _version(env: Json) -> str:
    """A revision of what warroom reads of the flag: any change to it gives another."""
    strategies = [
        {k: s.get(k) for k in ("name", "title", "parameters", "constraints", "disabled")}
        for s in env.get("strategies", [])
    ]
    body = json.dumps([bool(env.get("enabled")), strategies], sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()[:16]

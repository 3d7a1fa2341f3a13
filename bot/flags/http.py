"""An in-house flag service over HTTP (the seed's `feature-flags-service`): the URLs, methods
and JSON fields come from the playbook (`flag_provider.http`), the address and the token from
the environment (FLAGS_HTTP_URL, FLAGS_HTTP_TOKEN).

Connection errors and 5xx answers are retried a few times with backoff; anything else is
answered at once. Either a call returns the flag as the service holds it afterwards, or it
raises FlagProviderError."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from bot.flags.base import FlagConflict, FlagProviderError, FlagView, ProviderHealth
from bot.playbook.flags import HttpCall, HttpFlagSettings


def path_get(data: Any, path: str) -> Any:
    """`a.b.0.c` in a JSON document; None where it leads nowhere (or the path is empty)."""
    if not path:
        return None
    for part in path.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def fill(template: Any, values: dict[str, Any]) -> Any:
    """The body template with the call's values: a string that is exactly `{name}` takes the
    value with its JSON type (a number, a list); other strings are filled in as text."""
    if isinstance(template, dict):
        return {key: fill(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [fill(value, values) for value in template]
    if isinstance(template, str):
        if template.startswith("{") and template.endswith("}") and template[1:-1] in values:
            return values[template[1:-1]]
        return template.format_map(_Text(values))
    return template


class _Text(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"

    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        return ",".join(value) if isinstance(value, list) else value


def shown(url: str) -> str:
    """A URL as people may see it: no user or password."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class HttpFlagProvider:
    name = "http"
    recorded_changes_only = False  # other tools may change the service's flags

    def __init__(
        self,
        base_url: str,
        token: str | None,
        settings: HttpFlagSettings,
        known_flags: Sequence[str] = (),
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """`known_flags` are listed when the playbook gives the service no list call."""
        self.base = base_url.rstrip("/")
        self.settings = settings
        self.known_flags = list(known_flags)
        self.sleep = sleep
        headers = {"Accept": "application/json"}
        if token:
            headers[settings.token_header] = settings.token_prefix + token
        self._http = httpx.Client(
            timeout=settings.timeout_seconds, headers=headers, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    # ---- reading -------------------------------------------------------------------------
    def get(self, flag: str) -> FlagView:
        response = self._ok(self._send(self.settings.get, {"flag": flag}), "read", flag)
        return self._view(flag, _json(response, flag), response)

    def list_flags(self) -> list[FlagView]:
        call = self.settings.list_all
        if call is None:
            return [self.get(flag) for flag in self.known_flags]
        response = self._ok(self._send(call, {}), "list the flags", "")
        items = _json(response, "")
        items = path_get(items, self.settings.list_items) if self.settings.list_items else items
        if not isinstance(items, list):
            raise FlagProviderError(
                f"the flag service's list has no array at `{self.settings.list_items}`"
                " (flag_provider.http.list_items)"
            )
        names = self.settings.fields.name
        return [self._view(str(path_get(i, names) or ""), i, None) for i in items]

    # ---- changing ------------------------------------------------------------------------
    def set(
        self,
        flag: str,
        percent: int,
        segments: list[str],
        actor: str,
        expected_version: str | None = None,
    ) -> FlagView:
        headers: dict[str, str] = {}
        if expected_version is not None:
            if _is_etag(expected_version):
                headers["If-Match"] = expected_version
            elif self.get(flag).version != expected_version:
                raise FlagConflict(f"flag {flag} changed since it was read", flag)
        values = {"flag": flag, "percent": percent, "segments": list(segments), "actor": actor}
        try:
            response = self._send(self.settings.set, values, headers)
        except FlagProviderError as exc:
            return self._landed_anyway(flag, percent, segments, exc)
        if response.status_code == 412:
            # a retried write may have landed on the first try: the state asked for is fine
            return self._landed_anyway(
                flag,
                percent,
                segments,
                FlagConflict(f"flag {flag} changed since it was read", flag),
            )
        self._ok(response, "set", flag)
        data = _json(response, flag) if response.content else None
        if data is not None and path_get(data, self.settings.fields.percent) is not None:
            return self._view(flag, data, response)
        return self.get(flag)

    def _landed_anyway(
        self, flag: str, percent: int, segments: list[str], error: FlagProviderError
    ) -> FlagView:
        """After a failed write, read the flag back: at the state asked for, the write is
        done; otherwise the error stands (and the flag is as read, unchanged)."""
        try:
            now = self.get(flag)
        except FlagProviderError:
            raise error from None
        if now.percent == percent and sorted(now.segments) == sorted(segments):
            return now
        raise error

    def clear_user_rules(self, flag: str, segments: list[str], actor: str) -> int:
        call = self.settings.clear_rules
        rounds = [[s] for s in segments] if "{segment}" in call.url else [list(segments)]
        removed = 0
        for segs in rounds:
            values = {"flag": flag, "segments": segs, "actor": actor}
            if len(segs) == 1:
                values["segment"] = segs[0]
            response = self._ok(self._send(call, values), "empty the user rules of", flag)
            data = _json(response, flag) if response.content else None
            count = path_get(data, self.settings.removed)
            removed += len(count) if isinstance(count, list) else int(count or 0)
        return removed

    # ---- health --------------------------------------------------------------------------
    def health(self, flags: Sequence[str]) -> ProviderHealth:
        total = len(flags)
        try:
            if self.settings.health is not None:
                self._ok(self._send(self.settings.health, {}, attempts=1), "check", "")
            writable = self._writable()
            missing = [f for f in flags if not self._exists(f)]
        except FlagProviderError as exc:
            return ProviderHealth(
                False, f"{exc.message} — check the service, FLAGS_HTTP_URL and FLAGS_HTTP_TOKEN"
            )
        if writable is False:
            return ProviderHealth(
                False, "the token may read the flags but not change them — give it write rights"
            )
        if missing:
            return ProviderHealth(
                False,
                f"{', '.join(missing)} not in the flag service ({total - len(missing)} of "
                f"{total} launch flags) — create them there or fix the playbook's `flags`",
                missing,
            )
        note = "" if writable else " (write rights not checked: no rights call in the playbook)"
        return ProviderHealth(True, f"{total} of {total} launch flags{note}")

    def _writable(self) -> bool | None:
        call = self.settings.rights
        if call is None:
            return None
        response = self._ok(self._send(call, {}, attempts=1), "check the token's rights", "")
        value = path_get(_json(response, ""), self.settings.rights_field)
        if isinstance(value, bool):
            return value
        return isinstance(value, (list, str)) and "write" in value

    def _exists(self, flag: str) -> bool:
        response = self._send(self.settings.get, {"flag": flag}, attempts=1)
        if response.status_code == 404:
            return False
        self._ok(response, "read", flag)
        return True

    # ---- the wire ------------------------------------------------------------------------
    def _url(self, call: HttpCall, values: dict[str, Any]) -> str:
        parts = {
            k: quote(",".join(v) if isinstance(v, list) else str(v), safe="")
            for k, v in values.items()
        }
        return call.url.format_map(_Text({**parts, "base": self.base}))

    def _send(
        self,
        call: HttpCall,
        values: dict[str, Any],
        headers: dict[str, str] | None = None,
        attempts: int | None = None,
    ) -> httpx.Response:
        """The call, retried with backoff on connection errors and 5xx answers."""
        url = self._url(call, values)
        body = fill(call.body, values) if call.body is not None else None
        tries = attempts or self.settings.attempts
        what = f"{call.method} {shown(url)}"
        for attempt in range(1, tries + 1):
            try:
                response = self._http.request(call.method, url, json=body, headers=headers)
            except httpx.HTTPError as exc:
                problem = f"{what} failed: {type(exc).__name__}"
            else:
                if response.status_code < 500:
                    return response
                problem = f"{what} answered {response.status_code}"
            if attempt < tries:
                self.sleep(self.settings.backoff_seconds * 2 ** (attempt - 1))
        flag = str(values.get("flag", ""))
        raise FlagProviderError(f"the flag service did not answer: {problem} ({tries}×)", flag)

    def _ok(self, response: httpx.Response, doing: str, flag: str) -> httpx.Response:
        code = response.status_code
        if code < 300:
            return response
        subject = f"{doing} {flag}".strip()
        where = f"{response.request.method} {shown(str(response.request.url))}"
        if code in (401, 403):
            raise FlagProviderError(
                f"the flag service refused the token ({code} to {where}): check FLAGS_HTTP_TOKEN",
                flag,
            )
        if code == 404 and flag:
            raise FlagProviderError(f"flag {flag} is not in the flag service (404)", flag)
        if code == 412:
            raise FlagConflict(f"flag {flag} changed since it was read", flag)
        said = response.text[:200].strip()
        raise FlagProviderError(f"could not {subject}: {code} from {where}: {said}", flag)

    def _view(self, flag: str, data: Any, response: httpx.Response | None) -> FlagView:
        f = self.settings.fields
        percent = path_get(data, f.percent)
        if not isinstance(percent, (int, float)) or isinstance(percent, bool):
            raise FlagProviderError(
                f"flag {flag}: the service's answer has no number at `{f.percent}`"
                " (flag_provider.http.fields.percent)",
                flag,
            )
        segments = path_get(data, f.segments) or []
        rules = path_get(data, f.user_rules)
        enabled = path_get(data, f.enabled)
        etag = response.headers.get("ETag") if response is not None else None
        version = etag or path_get(data, f.version)
        return FlagView(
            name=str(path_get(data, f.name) or flag),
            percent=int(percent),
            segments=[str(s) for s in segments] if isinstance(segments, list) else [],
            updated_at=_when(path_get(data, f.updated_at)),
            updated_by=str(path_get(data, f.updated_by) or ""),
            user_rules=len(rules) if isinstance(rules, list) else int(rules or 0),
            enabled=bool(enabled) if enabled is not None else percent > 0,
            version=str(version) if version not in (None, "") else _digest(data),
        )


def _is_etag(version: str) -> bool:
    return version.startswith(('"', 'W/"'))


def _json(response: httpx.Response, flag: str) -> Any:
    try:
        return response.json()
    except ValueError:
        where = shown(str(response.request.url))
        raise FlagProviderError(
            f"the flag service's answer from {where} is not JSON", flag
        ) from None


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]

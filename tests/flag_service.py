"""A small in-house flag service on loopback, as a team's `feature-flags-service` might be:
a real HTTP server on 127.0.0.1 with its own state, ETags and If-Match, bearer tokens with
read or write rights, and faults on demand (the next N requests answer 500, or hang past the
client's timeout; `down()` closes the port, `up()` opens it again).

Two JSON shapes: `flat` (warroom's default field names) and `nested` (other names, other
paths, PATCH), to show the playbook's field mapping. `http_provider(tmp_path)` builds a
provider against a fresh service, for the contract suite; `flag_service` is the fixture."""

from __future__ import annotations

import atexit
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.clock import Clock
from bot.flags.http import HttpFlagProvider
from bot.playbook import Playbook
from bot.playbook.flags import HttpCall, HttpFlagFields, HttpFlagSettings
from bot.services import Services, build_services
from bot.settings import Settings

WRITE_TOKEN, READ_TOKEN = "flags-write-token-0123", "flags-read-token-4567"
LAUNCH_FLAGS = ["ADVANCED_CHECKOUT", "SMART_PRICING"]
FLAG_PATH = re.compile(r"^(?P<prefix>/flags|/v2/toggles)/(?P<key>[A-Z0-9_]+)(?P<rest>/.*)?$")

# The playbook's mapping for the `nested` shape (flag_provider.http with other names).
NESTED = HttpFlagSettings(
    get=HttpCall(url="{base}/v2/toggles/{flag}"),
    list_all=HttpCall(url="{base}/v2/toggles"),
    list_items="data.toggles",
    set=HttpCall(
        method="PATCH",
        url="{base}/v2/toggles/{flag}",
        body={"rollout": {"pct": "{percent}", "audiences": "{segments}"}, "by": "{actor}"},
    ),
    clear_rules=HttpCall(
        method="POST",
        url="{base}/v2/toggles/{flag}/overrides:clear",
        body={"audiences": "{segments}"},
    ),
    removed="cleared",
    health=HttpCall(url="{base}/v2/ping"),
    rights=HttpCall(url="{base}/v2/whoami"),
    rights_field="scopes",
    fields=HttpFlagFields(
        name="id",
        percent="state.rollout.pct",
        segments="state.rollout.audiences",
        enabled="state.on",
        version="meta.rev",
        updated_by="meta.changed_by",
        updated_at="meta.changed_at",
        user_rules="overrides",
    ),
)


@dataclass
class Flag:
    percent: int
    segments: list[str]
    rules: list[dict[str, str]] = field(default_factory=list)
    rev: int = 1
    updated_by: str = "seed"
    updated_at: str = "2026-11-30T08:00:00+00:00"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class FlagService:
    def __init__(self, shape: str = "flat", etags: bool = True) -> None:
        self.shape, self.etags = shape, etags
        self.flags: dict[str, Flag] = {}
        self.tokens = {WRITE_TOKEN: "write", READ_TOKEN: "read"}
        self.seen: list[Seen] = []
        self.faults: list[str | int] = []  # per coming request: a status, or "hang"
        self.hang_seconds = 1.5
        self.broken: set[str] = set()  # flags whose every request answers 503
        self.lock = threading.Lock()
        self.port = 0
        self.server: ThreadingHTTPServer | None = None

    # ---- life ----------------------------------------------------------------------------
    def start(self) -> FlagService:
        self.up()
        _RUNNING.append(self)
        return self

    def up(self) -> None:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                service.handle(self)

            do_GET = do_PUT = do_PATCH = do_POST = do_DELETE = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self) -> None:
        """Nothing listens any more: a connection is refused."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    stop = down

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        with self.lock:
            self.flags = {f: Flag(10, ["internal_beta"]) for f in LAUNCH_FLAGS}
            self.seen.clear()
            self.faults.clear()
            self.broken.clear()

    def fail_next(self, count: int, how: str | int = 500) -> None:
        self.faults.extend([how] * count)

    def add_user_rule(self, flag: str, segment: str, user_key: str) -> None:
        with self.lock:
            self.flags[flag].rules.append({"segment": segment, "user": user_key})
            self.flags[flag].rev += 1

    def change_behind(self, flag: str, percent: int, segments: list[str]) -> None:
        """Someone else changes the flag (the service's own UI)."""
        with self.lock:
            f = self.flags[flag]
            f.percent, f.segments, f.rev, f.updated_by = percent, segments, f.rev + 1, "ui:alice"

    # ---- answering -----------------------------------------------------------------------
    def handle(self, h: BaseHTTPRequestHandler) -> None:
        raw = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        body = json.loads(raw) if raw else None
        self.seen.append(Seen(h.command, h.path, dict(h.headers), body))
        fault = self.faults.pop(0) if self.faults else None
        if any(f"/{flag}" in h.path for flag in self.broken):
            fault = 503
        if fault == "hang":
            time.sleep(self.hang_seconds)
            fault = 500
        if isinstance(fault, int):
            return _send(h, fault, {"error": "injected fault"})
        with self.lock:
            status, payload, headers = self.route(h, body)
        _send(h, status, payload, headers)

    def route(self, h: BaseHTTPRequestHandler, body: Any) -> tuple[int, Any, dict[str, str]]:
        rights = self.tokens.get(h.headers.get("Authorization", "").removeprefix("Bearer "))
        if rights is None:
            return 401, {"error": "unknown token"}, {}
        path = h.path.split("?")[0]
        if path in ("/health", "/v2/ping"):
            return 200, {"status": "ok"}, {}
        if path == "/auth/check":
            return 200, {"can_write": rights == "write"}, {}
        if path == "/v2/whoami":
            return 200, {"scopes": ["read", "write"] if rights == "write" else ["read"]}, {}
        if path in ("/flags", "/v2/toggles"):
            items = [self.render(k, f) for k, f in sorted(self.flags.items())]
            return (
                200,
                ({"flags": items} if self.shape == "flat" else {"data": {"toggles": items}}),
                {},
            )
        match = FLAG_PATH.match(path)
        if match is None or match["key"] not in self.flags:
            return 404, {"error": f"no such flag {match['key'] if match else path}"}, {}
        key, flag = match["key"], self.flags[match["key"]]
        if h.command == "GET":
            return 200, self.render(key, flag), self.etag(flag)
        if rights != "write":
            return 403, {"error": "this token may only read"}, {}
        if match["rest"]:
            return self.clear(key, flag, match["rest"], body)
        return self.write(h, key, flag, body)

    def write(
        self, h: BaseHTTPRequestHandler, key: str, flag: Flag, body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        wanted = h.headers.get("If-Match")
        if self.etags and wanted is not None and wanted != self.etag(flag)["ETag"]:
            return 412, {"error": "precondition failed"}, {}
        if self.shape == "flat":
            percent, segments, actor = (
                body.get("percentage"),
                body.get("segments"),
                body.get("updated_by"),
            )
        else:
            rollout = body.get("rollout") or {}
            percent, segments, actor = rollout.get("pct"), rollout.get("audiences"), body.get("by")
        if (
            not isinstance(percent, int)
            or not 0 <= percent <= 100
            or not isinstance(segments, list)
        ):
            return 400, {"error": "percentage 0-100 and a list of segments"}, {}
        flag.percent, flag.segments, flag.updated_by = percent, segments, str(actor or "")
        flag.rev += 1
        flag.updated_at = datetime.now(UTC).isoformat()
        return 200, self.render(key, flag), self.etag(flag)

    def clear(self, key: str, flag: Flag, rest: str, body: Any) -> tuple[int, Any, dict[str, str]]:
        if self.shape == "flat":
            segments = [rest.removeprefix("/user-rules/")]
        else:
            segments = list((body or {}).get("audiences") or [])
        kept = [r for r in flag.rules if r["segment"] not in segments]
        removed = len(flag.rules) - len(kept)
        if removed:
            flag.rules, flag.rev = kept, flag.rev + 1
        return 200, ({"removed": removed} if self.shape == "flat" else {"cleared": removed}), {}

    def etag(self, flag: Flag) -> dict[str, str]:
        return {"ETag": f'"v{flag.rev}"'} if self.etags else {}

    def render(self, key: str, f: Flag) -> dict[str, Any]:
        if self.shape == "flat":
            return {
                "key": key,
                "enabled": f.percent > 0,
                "percentage": f.percent,
                "segments": f.segments,
                "user_rules": f.rules,
                "version": f.rev,
                "updated_by": f.updated_by,
                "updated_at": f.updated_at,
            }
        return {
            "id": key,
            "state": {"on": f.percent > 0, "rollout": {"pct": f.percent, "audiences": f.segments}},
            "overrides": f.rules,
            "meta": {"rev": f.rev, "changed_by": f.updated_by, "changed_at": f.updated_at},
        }


def _send(
    h: BaseHTTPRequestHandler, status: int, payload: Any, headers: dict[str, str] | None = None
) -> None:
    data = json.dumps(payload).encode()
    try:
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client gave up (its timeout)


_RUNNING: list[FlagService] = []


@atexit.register
def _stop_all() -> None:
    for service in _RUNNING:
        service.down()


class ServedHttpProvider(HttpFlagProvider):
    """The HTTP provider with its loopback service at hand (and the embedded provider's
    `add_user_rule`, so the contract suite seeds rules the same way for every provider)."""

    def __init__(
        self, service: FlagService, settings: HttpFlagSettings, token: str = WRITE_TOKEN
    ) -> None:
        super().__init__(service.url, token, settings, LAUNCH_FLAGS, sleep=lambda s: None)
        self.service = service

    def add_user_rule(self, flag: str, segment: str, user_key: str) -> None:
        self.service.add_user_rule(flag, segment, user_key)


def fast_settings(base: HttpFlagSettings | None = None) -> HttpFlagSettings:
    """Short timeouts, so a hanging service shows up in a test within a second."""
    return (base or HttpFlagSettings()).model_copy(
        update={"timeout_seconds": 0.5, "backoff_seconds": 0}
    )


def http_provider(tmp_path: Path | None = None) -> ServedHttpProvider:
    """A provider against a fresh loopback service holding the launch flags at 10 %
    internal_beta (the playbook's initial state). For the contract suite's builders."""
    service = FlagService().start()
    service.reset()
    return ServedHttpProvider(service, fast_settings())


@pytest.fixture
def flag_service() -> Iterator[FlagService]:
    service = FlagService().start()
    service.reset()
    yield service
    service.down()
    _RUNNING.remove(service)


def with_http(book: Playbook) -> Playbook:
    """The playbook with `flag_provider.kind: http` (short timeouts, two tries a call)."""
    http = fast_settings().model_copy(update={"attempts": 2})
    provider = book.flag_provider.model_copy(update={"kind": "http", "http": http})
    return book.model_copy(update={"flag_provider": provider})


def http_services(
    settings: Settings, book: Playbook, clock: Clock, service: FlagService
) -> Services:
    """The composition root with the HTTP provider pointed at the loopback service."""
    settings = settings.model_copy(
        update={"flags_http_url": service.url, "flags_http_token": SecretStr(WRITE_TOKEN)}
    )
    return build_services(settings, with_http(book), clock, sleep=lambda seconds: None)

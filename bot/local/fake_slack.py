"""A loopback stand-in for the Slack Web API that records every call.

The local workspace posts to it instead of Slack, and the tests use it the way
bolt-python tests itself (a client whose base_url points here). It also serves
`response_url`s, and can be told to fail the next calls of a method (429, 500).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bot.local.fake_slack_records import (  # re-exported: tests import them from here
    BOT_USER,
    Call,
    Fault,
    Message,
    SharedFile,
    as_json,
    blocks_of,
    channel_id,
    parse_body,
)


@dataclass
class FakeSlack:
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    faults: dict[str, Fault] = field(default_factory=dict)
    socket_mode_url: str = ""  # what apps.connections.open hands out (a test's WebSocket)
    unreachable: set[str] = field(default_factory=set)  # channels ephemerals cannot reach

    def __post_init__(self) -> None:
        self._cond = threading.Condition()
        self._ts = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self.response_urls: dict[str, dict] = {}  # id → {"channel", "user", "ts"}
        self.views: list[dict] = []  # modals opened with views.open
        self.home_views: dict[str, dict] = {}  # user → the App Home view views.publish set
        self.uploads: dict[str, dict] = {}  # file id → {"filename", "length", "data"}
        self.files: list[SharedFile] = []  # files shared by files.completeUploadExternal

    # ---- lifecycle ----------------------------------------------------------------------
    def start(self) -> FakeSlack:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet: tests read calls, not logs
                pass

            def do_GET(self) -> None:  # noqa: N802 - slack_sdk sends a few methods as GET
                path, _, query = self.path.partition("?")
                headers = {"Content-Type": "application/x-www-form-urlencoded"}
                if self.headers.get("Authorization"):
                    headers["Authorization"] = self.headers["Authorization"]
                status, payload, extra = fake._handle(path, query, headers)
                self._send(status, payload, extra)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length) if length else b""
                if self.path.startswith("/upload/"):  # files_upload_v2's step 2: raw bytes
                    status, payload, headers = fake._upload(self.path, data)
                else:
                    status, payload, headers = fake._handle(self.path, data.decode(), self.headers)
                self._send(status, payload, headers)

            def _send(self, status: int, payload: dict, headers: dict) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def reset(self) -> FakeSlack:
        """Forget every call, message, fault, view and setting, as a new server would; the
        socket stays (one server serves a whole test session)."""
        with self._cond:
            for spec in fields(self):
                if spec.default_factory is not MISSING:
                    setattr(self, spec.name, spec.default_factory())
                elif spec.default is not MISSING:
                    setattr(self, spec.name, spec.default)
            server, self._server = self._server, None
            self.__post_init__()
            self._server = server
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"  # start() binds loopback

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, channel: str, user: str, message_ts: str | None = None) -> str:
        key = f"r{next(self._ts)}"
        self.response_urls[key] = {"channel": channel, "user": user, "ts": message_ts}
        return f"{self.url}/response/{key}"

    # ---- test helpers -------------------------------------------------------------------
    def fail_next(
        self, method: str, status: int, times: int = 1, retry_after: int = 1, error: str = ""
    ) -> None:
        """The next calls fail: `status` 429/5xx, or 200 with `error` (Slack's refusals,
        such as `not_in_channel`, come with 200)."""
        self.faults[method] = Fault(status, times, retry_after, error=error)

    def hang_next(self, method: str, seconds: float, times: int = 1) -> None:
        """The next calls are carried out, and their answers come `seconds` late: a client
        whose timeout is shorter never learns that Slack took them."""
        self.faults[method] = Fault(0, times, hang=seconds)

    def calls_to(self, method: str) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, predicate, timeout: float = 5.0):  # type: ignore[no-untyped-def]
        """Wait until predicate(self) is truthy; return its value or raise TimeoutError."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate(self)
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("the fake Slack never saw what was awaited")
                # woken by every call; a predicate that reads the bot's own state (a row, a
                # status) changes without one, so it is asked again at least every 20 ms
                self._cond.wait(min(remaining, 0.02))

    def channel_messages(self, channel: str | None = None) -> list[Message]:
        with self._cond:
            return [
                m
                for m in self.messages
                if m.ephemeral_to is None and (channel is None or m.channel == channel)
            ]

    def ephemerals(self, user: str | None = None) -> list[Message]:
        with self._cond:
            return [
                m
                for m in self.messages
                if m.ephemeral_to and (user is None or m.ephemeral_to == user)
            ]

    # ---- the API ------------------------------------------------------------------------
    def _handle(self, path: str, raw: str, headers: Any) -> tuple[int, dict, dict]:
        params = parse_body(raw, headers.get("Content-Type", ""))
        if path.startswith("/response/"):
            return 200, self._respond(path.rsplit("/", 1)[-1], params), {}
        method = path.removeprefix("/api/").split("?", 1)[0]
        with self._cond:
            self.calls.append(Call(method, params, headers.get("Authorization", "")))
            fault = self.faults.get(method)
            hang = 0.0
            if fault and fault.times > 0 and fault.status == 0:
                fault.times -= 1
                hang = fault.hang
            elif fault and fault.times > 0:
                fault.times -= 1
                self._cond.notify_all()
                extra = {"Retry-After": str(fault.retry_after)} if fault.status == 429 else {}
                return (
                    fault.status,
                    {
                        "ok": False,
                        "error": fault.error
                        or ("ratelimited" if fault.status == 429 else "internal_error"),
                    },
                    extra,
                )
            result = self._api(method, params)
            self._cond.notify_all()
        time.sleep(hang)
        return 200, result, {}

    def _next_ts(self) -> str:
        return f"{1700000000 + next(self._ts)}.000100"

    def _api(self, method: str, p: dict[str, Any]) -> dict[str, Any]:
        answer = self._methods().get(method)
        return answer(p) if answer else {"ok": True}

    def _methods(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "views.open": self._views_open,
            "views.publish": self._views_publish,
            "chat.getPermalink": self._permalink,
            "conversations.history": self._history,
            "conversations.replies": self._history,
            "files.getUploadURLExternal": self._upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "apps.connections.open": self._connections_open,
            "usergroups.users.list": self._usergroup_users,
        }

    @staticmethod
    def _auth_test(_: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "user_id": BOT_USER,
            "bot_id": "BWARROOM",
            "team_id": "TLOCAL",
            "team": "local",
            "user": "warroom",
            "url": "https://local.invalid/",
        }

    def _post_message(self, p: dict[str, Any]) -> dict[str, Any]:
        message = Message(
            str(p.get("channel")),
            self._next_ts(),
            p.get("text", ""),
            blocks_of(p),
            thread_ts=p.get("thread_ts"),
            metadata=as_json(p.get("metadata")) or None,
        )
        self.messages.append(message)
        return {
            "ok": True,
            "channel": channel_id(message.channel),
            "ts": message.ts,
            "message": {"text": message.text, "blocks": message.blocks},
        }

    def _update(self, p: dict[str, Any]) -> dict[str, Any]:
        for message in self.messages:
            same = channel_id(message.channel) == channel_id(str(p.get("channel")))
            if same and message.ts == p.get("ts"):
                message.text, message.blocks = p.get("text", ""), blocks_of(p)
                message.updated += 1
                return {"ok": True, "channel": message.channel, "ts": message.ts}
        return {"ok": False, "error": "message_not_found"}

    def _history(self, p: dict[str, Any]) -> dict[str, Any]:
        """conversations.history (top-level messages) or .replies (a thread, `ts`), newest
        first, with their metadata when asked for."""
        channel, thread = channel_id(str(p.get("channel"))), p.get("ts")

        def listed(m: Message) -> bool:
            if m.ephemeral_to is not None or channel_id(m.channel) != channel:
                return False
            return thread in (m.ts, m.thread_ts) if thread else not m.thread_ts

        found = [m for m in self.messages if listed(m)]
        with_metadata = p.get("include_all_metadata") in (True, "true", "1", 1)
        messages = [
            {"ts": m.ts, "text": m.text, **({"metadata": m.metadata} if with_metadata else {})}
            for m in reversed(found[-int(p.get("limit") or 100) :])
        ]
        return {"ok": True, "channel": channel, "messages": messages}

    def _post_ephemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        if str(p.get("channel")) in self.unreachable:  # a DM, or a channel without the bot
            return {"ok": False, "error": "channel_not_found"}
        message = Message(
            str(p.get("channel")),
            self._next_ts(),
            p.get("text", ""),
            blocks_of(p),
            ephemeral_to=p.get("user"),
        )
        self.messages.append(message)
        return {"ok": True, "message_ts": message.ts}

    def _views_open(self, p: dict[str, Any]) -> dict[str, Any]:
        view = as_json(p.get("view"))
        self.views.append(view)
        return {"ok": True, "view": {**view, "id": f"V{len(self.views):08d}"}}

    def _views_publish(self, p: dict[str, Any]) -> dict[str, Any]:
        self.home_views[str(p.get("user_id"))] = as_json(p.get("view"))
        return {"ok": True, "view": {"id": "VHOME"}}

    @staticmethod
    def _permalink(p: dict[str, Any]) -> dict[str, Any]:
        channel = channel_id(str(p.get("channel")))
        ts = str(p.get("message_ts")).replace(".", "")
        return {"ok": True, "permalink": f"https://local.invalid/archives/{channel}/p{ts}"}

    def _upload_url(self, p: dict[str, Any]) -> dict[str, Any]:
        file_id = f"F{next(self._ts):08d}"
        self.uploads[file_id] = {
            "filename": p.get("filename"),
            "length": int(p.get("length") or 0),
            "data": None,
        }
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.url}/upload/{file_id}"}

    def _connections_open(self, _: dict[str, Any]) -> dict[str, Any]:
        if not self.socket_mode_url:
            return {"ok": False, "error": "not_allowed_token_type"}
        return {"ok": True, "url": self.socket_mode_url}

    def _usergroup_users(self, p: dict[str, Any]) -> dict[str, Any]:
        group = p.get("usergroup")
        if group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": self.usergroups[group]}

    def _upload(self, path: str, data: bytes) -> tuple[int, dict, dict]:
        upload = self.uploads.get(path.rsplit("/", 1)[-1])
        if upload is None:
            return 404, {"ok": False, "error": "unknown upload url"}, {}
        with self._cond:
            upload["data"] = data
        return 200, {"ok": True}, {}

    def _complete_upload(self, p: dict[str, Any]) -> dict:
        files = p.get("files")
        files = json.loads(files) if isinstance(files, str) else files or []
        channel = str(p.get("channel_id") or "")
        if channel and channel_id(channel) != channel:
            return {"ok": False, "error": "invalid_channel"}  # a #name: Slack wants the ID
        shared = []
        for f in files:
            upload = self.uploads.get(f.get("id"))
            if upload is None or upload["data"] is None:
                return {"ok": False, "error": "file_not_found"}
            if len(upload["data"]) != upload["length"]:
                return {"ok": False, "error": "file_upload_size_mismatch"}
            shared.append(
                SharedFile(
                    f["id"],
                    channel,
                    f.get("title") or "",
                    upload["filename"],
                    upload["data"],
                    p.get("thread_ts"),
                )
            )
        self.files.extend(shared)
        return {"ok": True, "files": [{"id": f.id, "title": f.title} for f in shared]}

    def _respond(self, key: str, p: dict[str, Any]) -> dict:
        target = self.response_urls.get(key)
        if target is None:
            return {"ok": False, "error": "expired_url"}
        with self._cond:
            if p.get("replace_original") in (True, "true") and target.get("ts"):
                for message in self.messages:
                    if message.ts == target["ts"]:
                        message.text, message.blocks = p.get("text", ""), blocks_of(p)
                        message.updated += 1
            elif p.get("delete_original") in (True, "true"):
                self.messages = [m for m in self.messages if m.ts != target.get("ts")]
            else:
                in_channel = p.get("response_type") == "in_channel"
                self.messages.append(
                    Message(
                        target["channel"],
                        self._next_ts(),
                        p.get("text", ""),
                        blocks_of(p),
                        ephemeral_to=None if in_channel else target["user"],
                    )
                )
            self._cond.notify_all()
        return {"ok": True}


__all__ = ["BOT_USER", "Call", "FakeSlack", "Fault", "Message", "SharedFile", "channel_id"]

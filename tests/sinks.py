"""Loopback stand-ins for the runbook's integrations: an HTTP sink (cache clearing, the
banner, Jira Cloud's REST v3 create-issue) and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import base64
import email
import json
import socket
import threading
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Hit:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class HttpSink:
    """Records every request; `fail[path] = [500, 500]` answers those statuses first."""

    hits: list[Hit] = field(default_factory=list)
    fail: dict[str, list[int]] = field(default_factory=dict)
    jira_user: tuple[str, str] = ("bot@example.com", "jira-token")
    created: int = 0  # issues Jira created: the first is OPS-101
    issue_types: tuple[str, ...] = ("Incident", "Epic")  # those the test project has
    hold: threading.Event | None = None  # the next request waits for it before its answer

    def start(self) -> HttpSink:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                hit = Hit("POST", self.path, dict(self.headers), body)
                sink.hits.append(hit)
                gate, sink.hold = sink.hold, None
                if gate is not None:
                    gate.wait(30)
                status, payload = sink.answer(hit)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def to(self, prefix: str) -> list[Hit]:
        return [h for h in self.hits if h.path.startswith(prefix)]

    def answer(self, hit: Hit) -> tuple[int, dict]:
        queued = self.fail.get(hit.path)
        if queued:
            return queued.pop(0), {"errorMessages": ["Internal server error"], "errors": {}}
        if hit.path == "/rest/api/3/issue":
            return self.jira(hit)
        if hit.path == "/v2/enqueue":  # PagerDuty Events API v2
            return 202, {
                "status": "success",
                "message": "Event processed",
                "dedup_key": (hit.body or {}).get("dedup_key"),
            }
        return 200, {"ok": True}

    def jira(self, hit: Hit) -> tuple[int, dict]:
        """Answers as Jira Cloud does, after checking the request's shape."""
        auth = hit.headers.get("Authorization", "")
        expected = base64.b64encode(":".join(self.jira_user).encode()).decode()
        if auth != f"Basic {expected}":
            return 401, {"errorMessages": ["You are not authenticated."], "errors": {}}
        fields = (hit.body or {}).get("fields", {})
        errors = {}
        if not fields.get("project", {}).get("key"):
            errors["project"] = "Specify a valid project ID or key"
        issue_type = fields.get("issuetype", {}).get("name")
        if issue_type not in self.issue_types:
            errors["issuetype"] = "Specify a valid issue type"
        if not fields.get("summary") or len(fields["summary"]) > 255:
            errors["summary"] = "You must specify a summary of the issue (at most 255 characters)."
        if issue_type != "Epic" and not fields.get("priority", {}).get("name"):
            errors["priority"] = "Specify a priority"  # the incident's screen requires one
        labels = fields.get("labels", [])
        if not isinstance(labels, list) or not all(
            isinstance(label, str) and label and " " not in label for label in labels
        ):
            errors["labels"] = "A label is a non-empty string without spaces."
        description = fields.get("description")
        if not (
            isinstance(description, dict)
            and description.get("type") == "doc"
            and description.get("version") == 1
            and description.get("content")
        ):
            errors["description"] = "Operation value must be an Atlassian Document."
        if errors:
            return 400, {"errorMessages": [], "errors": errors}
        self.created += 1
        number = self.created
        key = f"{fields['project']['key']}-{100 + number}"
        return 201, {
            "id": str(10000 + number),
            "key": key,
            "self": f"{self.url}/rest/api/3/issue/{10000 + number}",
        }


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        # decode_data is off (the default), so the content is bytes
        self.messages.append(email.message_from_bytes(cast(bytes, envelope.content)))
        return "250 Message accepted for delivery"


class SmtpSink:
    """A real SMTP server on loopback (no TLS: the playbook under test sets starttls false)."""

    def __init__(self) -> None:
        self.inbox = _Inbox()
        with socket.socket() as probe:  # aiosmtpd cannot bind port 0 itself
            probe.bind(("127.0.0.1", 0))
            free = probe.getsockname()[1]
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=free)

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def port(self) -> int:
        return self.controller.port

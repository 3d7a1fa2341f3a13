"""What the loopback Slack stand-in records (calls, messages, files), the faults it can be
told to inject, and how it reads a request's body."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

BOT_USER = "UWARROOMBOT"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    authorization: str
    received_at: float = field(default_factory=time.time)  # wall clock, for lateness


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict]
    user: str = BOT_USER
    thread_ts: str | None = None
    ephemeral_to: str | None = None  # set for ephemeral replies
    updated: int = 0
    metadata: dict[str, Any] | None = None


@dataclass
class SharedFile:
    id: str
    channel: str
    title: str
    filename: str
    data: bytes
    thread_ts: str | None = None


def channel_id(channel: str) -> str:
    """Slack answers with channel IDs even when a post named the channel (#name): the
    files API accepts only IDs, as Slack's does."""
    if channel[:1] in "CDG" and channel.isalnum() and channel.isupper():
        return channel
    return "C" + hashlib.sha1(channel.encode()).hexdigest()[:10].upper()


@dataclass
class Fault:
    status: int  # 0: do the call, then hang `hang` seconds before answering (a lost answer)
    times: int
    retry_after: int = 1
    hang: float = 0.0
    error: str = ""  # Slack's error code; default ratelimited (429) or internal_error


def parse_body(raw: str, content_type: str) -> dict[str, Any]:
    if not raw:
        return {}
    if "json" in content_type:
        return json.loads(raw)
    return {k: v[0] for k, v in parse_qs(raw).items()}


def as_json(value: Any) -> dict[str, Any]:
    """A view as Slack receives it: JSON text in a form post, an object in a JSON body."""
    return dict(json.loads(value) if isinstance(value, str) else value or {})


def blocks_of(p: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = p.get("blocks") or []
    return json.loads(blocks) if isinstance(blocks, str) else list(blocks)

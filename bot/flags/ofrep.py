"""The embedded store as the OpenFeature Remote Evaluation Protocol answers it.

`FlagSnapshot` is the whole store read at once; `OfrepStore` keeps one for a short while
(`ttl` seconds, 1 by default) and re-reads it after, so evaluations do not query the
database per request; a change made through this process (`invalidate`, called by the
provider decorator after each set/clear) is seen at once, one made by another replica
within `ttl`. `answer_one` / `answer_bulk` turn a request body into OFREP's status and JSON."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.flags.evaluation import (
    FLAG_NOT_FOUND,
    INVALID_CONTEXT,
    PARSE_ERROR,
    EvaluationError,
    FlagRules,
    context_etag,
    evaluate,
    fingerprint,
)
from storage.models import FlagState, FlagUserRule


@dataclass(frozen=True)
class FlagSnapshot:
    flags: Mapping[str, FlagRules]
    revision: str


def _rules_version(state: FlagState, users: Mapping[str, bool]) -> str:
    body = [state.percent, sorted(state.segments), sorted(users.items()), state.updated_by]
    body.append(str(state.updated_at))
    return hashlib.sha256(json.dumps(body).encode()).hexdigest()[:16]


def load_snapshot(engine: Engine) -> FlagSnapshot:
    """Every flag of the embedded store with its per-user rules, in two queries."""
    with Session(engine) as session:
        users: dict[str, dict[str, bool]] = {}
        for rule in session.exec(select(FlagUserRule).order_by(col(FlagUserRule.id))):
            users.setdefault(rule.flag, {})[rule.user_key] = rule.enabled
        flags = {}
        for state in session.exec(select(FlagState).order_by(col(FlagState.name))):
            mine = users.get(state.name, {})
            flags[state.name] = FlagRules(
                key=state.name,
                percent=state.percent,
                segments=tuple(state.segments),
                users=mine,
                updated_by=state.updated_by,
                version=_rules_version(state, mine),
            )
    return FlagSnapshot(flags, fingerprint(flags))


class OfrepStore:
    """The snapshot, re-read when older than `ttl` or after `invalidate()`."""

    def __init__(
        self,
        engine: Engine,
        ttl: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._ttl = ttl
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._snapshot: FlagSnapshot | None = None
        self._read_at = 0.0

    def fresh(self) -> FlagSnapshot | None:
        """The cached snapshot while it is fresh, without touching the database."""
        snapshot = self._snapshot
        if snapshot is not None and self._monotonic() - self._read_at < self._ttl:
            return snapshot
        return None

    def snapshot(self) -> FlagSnapshot:
        """The fresh snapshot, re-reading the store when it has gone stale (blocking)."""
        cached = self.fresh()
        if cached is not None:
            return cached
        with self._lock:  # one reader refreshes; the others take its result
            cached = self.fresh()
            if cached is not None:
                return cached
            read_at = self._monotonic()
            self._snapshot = load_snapshot(self._engine)
            self._read_at = read_at
            return self._snapshot

    def invalidate(self) -> None:
        self._snapshot = None


@dataclass(frozen=True)
class OfrepAnswer:
    status: int
    body: dict[str, Any] | None
    etag: str | None = None


def parse_context(body: Any) -> dict[str, Any]:
    """The request's `context` (an object; absent means empty), or EvaluationError."""
    if not isinstance(body, dict):
        raise EvaluationError(PARSE_ERROR, "the request body must be a JSON object")
    context = body.get("context", {})
    if context is None:
        return {}
    if not isinstance(context, dict):
        raise EvaluationError(INVALID_CONTEXT, "context must be a JSON object")
    return context


def answer_one(snapshot: FlagSnapshot, key: str, body: Any) -> OfrepAnswer:
    """POST /ofrep/v1/evaluate/flags/{key}: 200 with the value, 404 FLAG_NOT_FOUND, 400
    with PARSE_ERROR, INVALID_CONTEXT or TARGETING_KEY_MISSING."""
    flag = snapshot.flags.get(key)
    try:
        context = parse_context(body)
        if flag is None:
            return OfrepAnswer(
                404,
                {"key": key, "errorCode": FLAG_NOT_FOUND, "errorDetails": f"no flag {key}"},
            )
        return OfrepAnswer(200, evaluate(flag, context).as_ofrep())
    except EvaluationError as exc:
        return OfrepAnswer(400, {"key": key, "errorCode": exc.code, "errorDetails": exc.details})


def answer_bulk(snapshot: FlagSnapshot, body: Any, if_none_match: str | None) -> OfrepAnswer:
    """POST /ofrep/v1/evaluate/flags: every flag for the context, with an ETag of the
    store's revision and the context; 304 when the client's `If-None-Match` is current.
    A flag that cannot be evaluated for the context carries its own error code."""
    try:
        context = parse_context(body)
    except EvaluationError as exc:
        return OfrepAnswer(400, {"errorCode": exc.code, "errorDetails": exc.details})
    etag = context_etag(snapshot.revision, context)
    if if_none_match and etag in {t.strip() for t in if_none_match.split(",")}:
        return OfrepAnswer(304, None, etag)
    flags: list[dict[str, Any]] = []
    for key, rules in snapshot.flags.items():
        try:
            flags.append(evaluate(rules, context).as_ofrep())
        except EvaluationError as exc:
            flags.append({"key": key, "errorCode": exc.code, "errorDetails": exc.details})
    return OfrepAnswer(200, {"flags": flags}, etag)

"""Evaluate a flag of the embedded store for an OpenFeature evaluation context (pure).

The rules, in order, for a boolean flag with variants `on` / `off`:

1. the context's `segment` attribute must be one of the flag's segments (else `off`,
   reason DEFAULT); a flag at 0 % is `off` (reason DISABLED);
2. a per-user rule for the targeting key decides (reason TARGETING_MATCH);
3. else a deterministic bucket of the targeting key (reason SPLIT): flagd's `fractional`
   bucketing — murmur3 x86 32-bit (seed 0, unsigned) of the UTF-8 of flag key + targeting
   key, bucket = (hash × 100) >> 32, `on` when bucket < percent. The same key always lands
   in the same bucket, so a key enabled at 10 % stays enabled at 25 % (monotonic), and a
   flagd file written by `bot.flags.flagd` evaluates every key the same way."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import mmh3

SEGMENT_ATTRIBUTE = "segment"
TARGETING_KEY = "targetingKey"
ON, OFF = "on", "off"

# OpenFeature's resolution reasons and OFREP's error codes, as the spec spells them
DEFAULT, DISABLED, SPLIT, TARGETING_MATCH = "DEFAULT", "DISABLED", "SPLIT", "TARGETING_MATCH"
FLAG_NOT_FOUND = "FLAG_NOT_FOUND"
TARGETING_KEY_MISSING = "TARGETING_KEY_MISSING"
INVALID_CONTEXT = "INVALID_CONTEXT"
PARSE_ERROR = "PARSE_ERROR"


@dataclass(frozen=True)
class FlagRules:
    """What evaluation needs of one flag: its percentage, segments and per-user rules
    (targeting key → on/off); `version` changes with any of them."""

    key: str
    percent: int
    segments: tuple[str, ...]
    users: Mapping[str, bool] = field(default_factory=dict)
    updated_by: str = ""
    version: str = ""


@dataclass(frozen=True)
class Evaluation:
    key: str
    value: bool
    variant: str
    reason: str
    version: str = ""

    def as_ofrep(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "value": self.value,
            "variant": self.variant,
            "reason": self.reason,
            "metadata": {"version": self.version},
        }


@dataclass
class EvaluationError(Exception):
    """The context cannot be evaluated: an OFREP error code and a detail for people."""

    code: str
    details: str

    def __str__(self) -> str:
        return f"{self.code}: {self.details}"


def bucket(flag_key: str, targeting_key: str, total_weight: int = 100) -> int:
    """flagd's fractional bucket of a key, in [0, total_weight)."""
    hashed = mmh3.hash((flag_key + targeting_key).encode(), 0, signed=False)
    return (hashed * total_weight) >> 32


def targeting_key(context: Mapping[str, Any]) -> str:
    key = context.get(TARGETING_KEY)
    if key is None or key == "":
        raise EvaluationError(TARGETING_KEY_MISSING, "the context has no targetingKey")
    if not isinstance(key, str):
        raise EvaluationError(INVALID_CONTEXT, "targetingKey must be a string")
    return key


def segment_of(context: Mapping[str, Any]) -> str | None:
    segment = context.get(SEGMENT_ATTRIBUTE)
    if segment is not None and not isinstance(segment, str):
        raise EvaluationError(INVALID_CONTEXT, f"{SEGMENT_ATTRIBUTE} must be a string")
    return segment


def evaluate(flag: FlagRules, context: Mapping[str, Any]) -> Evaluation:
    """The flag's value for this context, or EvaluationError (missing or bad key/segment)."""
    key = targeting_key(context)
    segment = segment_of(context)

    def result(value: bool, reason: str) -> Evaluation:
        return Evaluation(flag.key, value, ON if value else OFF, reason, flag.version)

    if flag.percent <= 0:
        return result(False, DISABLED)
    if segment not in flag.segments:
        return result(False, DEFAULT)
    rule = flag.users.get(key)
    if rule is not None:
        return result(rule, TARGETING_MATCH)
    return result(bucket(flag.key, key) < flag.percent, SPLIT)


def fingerprint(flags: Mapping[str, FlagRules]) -> str:
    """One revision of the whole store: any flag's change gives another."""
    body = sorted((name, rules.version) for name, rules in flags.items())
    return hashlib.sha256(json.dumps(body).encode()).hexdigest()[:20]


def context_etag(store_fingerprint: str, context: Mapping[str, Any]) -> str:
    """The bulk answer's ETag: the store's revision and the context it was evaluated for."""
    body = json.dumps([store_fingerprint, context], sort_keys=True, default=str)
    return '"' + hashlib.sha256(body.encode()).hexdigest()[:24] + '"'

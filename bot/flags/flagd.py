"""The embedded store as a flagd flag-definitions file (https://flagd.dev/schema/v0/flags.json).

Each flag is boolean (variants `on` / `off`, default `off`) and its targeting is the rules of
`bot.flags.evaluation` in JsonLogic: not in one of the flag's segments → `off`; a per-user
rule → its variant; else flagd's `fractional` split by targeting key ([on, percent],
[off, 100 − percent]), which buckets exactly as warroom's OFREP endpoints do."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.engine import Engine

from bot.flags.evaluation import OFF, ON, SEGMENT_ATTRIBUTE, TARGETING_KEY, FlagRules
from bot.flags.ofrep import load_snapshot

SCHEMA = "https://flagd.dev/schema/v0/flags.json"


def _targeting(flag: FlagRules) -> dict[str, Any] | str:
    if flag.percent <= 0:
        return OFF
    on_users = sorted(k for k, v in flag.users.items() if v)
    off_users = sorted(k for k, v in flag.users.items() if not v)
    split: Any = (
        ON
        if flag.percent >= 100
        else {"fractional": [[ON, flag.percent], [OFF, 100 - flag.percent]]}
    )
    branches: list[Any] = [
        {"!": {"in": [{"var": SEGMENT_ATTRIBUTE}, list(flag.segments)]}},
        OFF,
    ]
    if on_users:
        branches += [{"in": [{"var": TARGETING_KEY}, on_users]}, ON]
    if off_users:
        branches += [{"in": [{"var": TARGETING_KEY}, off_users]}, OFF]
    return {"if": [*branches, split]}


def flagd_document(flags: Mapping[str, FlagRules]) -> dict[str, Any]:
    """The flag-definitions document for these flags."""
    definitions = {}
    for name, flag in flags.items():
        targeting = _targeting(flag)
        definitions[name] = {
            "state": "ENABLED",
            "variants": {ON: True, OFF: False},
            "defaultVariant": OFF,
            # a constant answer is the default variant with empty targeting
            "targeting": targeting if isinstance(targeting, dict) else {},
            "metadata": {"percent": flag.percent, "version": flag.version},
        }
        if targeting == ON:
            definitions[name]["defaultVariant"] = ON
    return {"$schema": SCHEMA, "flags": definitions}


def render(flags: Mapping[str, FlagRules]) -> str:
    return json.dumps(flagd_document(flags), indent=2, sort_keys=True) + "\n"


def write_atomic(path: str | Path, text: str) -> None:
    """Write to a temporary file beside `path`, then rename it over `path`: a reader (flagd's
    file watcher) sees the old file or the new one, never half of one."""
    target = Path(path)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def export_flagd(engine: Engine, out: str | Path | TextIO) -> int:
    """Write the embedded store as a flagd file to a path (atomically) or a stream; how
    many flags."""
    flags = load_snapshot(engine).flags
    text = render(flags)
    if isinstance(out, (str, Path)):
        write_atomic(out, text)
    else:
        out.write(text)
    return len(flags)

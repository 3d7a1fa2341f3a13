"""Reading what people type: flags, percentages, segments, counts. Each refusal names
what to type instead."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable

from bot.errors import Refusal

HISTORY_DEFAULT, HISTORY_MAX = 10, 50


def closest(name: str, known: list[str]) -> str | None:
    upper = {k.upper(): k for k in known}
    match = difflib.get_close_matches(name.upper(), list(upper), n=1, cutoff=0.5)
    return upper[match[0]] if match else None


def resolve_flag(text: str, known: list[str]) -> str:
    for flag in known:
        if flag == text.upper():
            return flag
    raise unknown_flag(text, known, lambda flag: f"/rollout set {flag} 25")


def unknown_flag(text: str, known: list[str], example: Callable[[str], str]) -> Refusal:
    """The refusal of a flag name nobody knows: the known ones, the closest as "Did you
    mean", and `example(flag)`, the command to type with it."""
    guess = closest(text, known)
    hint = f"Did you mean `{guess}`? " if guess else ""
    return Refusal(
        f"Unknown flag `{text[:60]}`. Known flags: {', '.join(f'`{f}`' for f in known)}.",
        f"{hint}Try `{example(guess or known[0])}`.",
    )


def parse_percent(text: str) -> int:
    cleaned = text.strip().removesuffix("%")
    if not re.fullmatch(r"\d{1,3}", cleaned) or int(cleaned) > 100:
        raise Refusal(
            f"`{text}` is not a percentage: give a whole number from 0 to 100.",
            "Try `/rollout set SMART_PRICING 25`.",
        )
    return int(cleaned)


def parse_segments(text: str, known: list[str]) -> list[str]:
    segments = [s.strip() for s in text.split(",") if s.strip()]
    for segment in segments:
        if segment not in known:
            guess = closest(segment, known)
            raise Refusal(
                f"Unknown segment `{segment}`. Known segments: "
                f"{', '.join(f'`{s}`' for s in known)}.",
                f"Did you mean `{guess}`?" if guess else "",
            )
    if not segments:
        raise Refusal("No segment given.", f"Known segments: {', '.join(known)}.")
    return list(dict.fromkeys(segments))


def parse_history_count(text: str | None) -> int:
    if not text:
        return HISTORY_DEFAULT
    if not text.isdigit() or not 1 <= int(text) <= HISTORY_MAX:
        raise Refusal(
            f"`{text}` is not a number of records between 1 and {HISTORY_MAX}.",
            "Try `/rollout history 20`.",
        )
    return int(text)

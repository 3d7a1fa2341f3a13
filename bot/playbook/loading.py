"""Reading a playbook: YAML → validated model → cross-reference checks, every problem
listed at once."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.playbook.checks import cross_references
from bot.playbook.model import Playbook

# The packaged default lives beside the package (bot/playbook.yml, package data of `bot`).
BUNDLED_PLAYBOOK = Path(__file__).parent.with_name("playbook.yml")


class PlaybookError(Exception):
    """A playbook that cannot be used, with every problem found."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        listing = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"{source}: {len(problems)} problem(s):\n{listing}")


def _loc(parts: tuple[Any, ...]) -> str:
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "(top level)"


def _problem(error: Any) -> str:
    """One pydantic error as `key.path = value: what is expected`."""
    value = error.get("input")
    shown = "" if error["type"] == "missing" else f" = {value!r}"
    if len(shown) > 80:
        shown = shown[:77] + "..."
    message = error["msg"].removeprefix("Value error, ")
    return f"{_loc(error['loc'])}{shown}: {message}"


def parse_playbook(text: str, source: str = "playbook") -> Playbook:
    """The playbook `text` holds, validated; a text parsed before is not parsed again (each
    caller gets its own deep copy: nested lists and dicts are not shared)."""
    return _parsed(text, source).model_copy(deep=True)


@functools.lru_cache(maxsize=16)
def _parsed(text: str, source: str) -> Playbook:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PlaybookError(source, [f"not valid YAML: {exc}"]) from None
    if not isinstance(data, dict):
        raise PlaybookError(source, ["expected a mapping of sections at the top level"])
    try:
        book = Playbook.model_validate(data)
    except ValidationError as exc:
        raise PlaybookError(source, [_problem(error) for error in exc.errors()]) from None
    problems = cross_references(book)
    if problems:
        raise PlaybookError(source, problems)
    return book


def load_playbook(path: Path | str | None = None) -> Playbook:
    file = Path(path) if path else BUNDLED_PLAYBOOK
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlaybookError(str(file), [f"cannot read the file: {exc.strerror}"]) from None
    return parse_playbook(text, str(file))

"""A provider decorator: after each successful set or clear of the provider it wraps, it
calls its `after_change` hooks — writing the flagd file (WARROOM_FLAGD_FILE) and dropping
the OFREP cache. A failed change calls nothing; a hook that fails is logged, never undoes
the change (the file is rewritten by the next change, or by `warroom flags export`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from bot.flags.base import FlagProvider, FlagView, ProviderHealth
from bot.flags.flagd import export_flagd

log = logging.getLogger("warroom.flags")
_WRITERS = frozenset({"ensure", "add_user_rule"})


def flagd_writer(engine: Engine, path: str | Path) -> Callable[[], None]:
    """A hook that writes the embedded store to `path` as a flagd file."""

    def write() -> None:
        export_flagd(engine, path)

    return write


class MirroredProvider:
    """`inner`, with `after_change` hooks run after each change it made."""

    def __init__(self, inner: FlagProvider, after_change: Sequence[Callable[[], None]]) -> None:
        self.inner = inner
        self.name = inner.name
        self.recorded_changes_only = inner.recorded_changes_only
        self._hooks = list(after_change)

    def refresh(self) -> None:
        """Run the hooks now (at start: the flagd file exists before the first change)."""
        self._changed()

    def _changed(self) -> None:
        for hook in self._hooks:
            try:
                hook()
            except Exception:  # noqa: BLE001 - the change is made; the mirror catches up later
                log.exception("flags.mirror_failed")

    def __getattr__(self, name: str) -> Any:
        """The inner provider's extras (the embedded store's `ensure`, `add_user_rule`);
        those that write run the hooks after too."""
        attribute = getattr(self.inner, name)
        if name not in _WRITERS or not callable(attribute):
            return attribute

        def written(*args: Any, **kwargs: Any) -> Any:
            result = attribute(*args, **kwargs)
            self._changed()
            return result

        return written

    def list_flags(self) -> list[FlagView]:
        return self.inner.list_flags()

    def get(self, flag: str) -> FlagView:
        return self.inner.get(flag)

    def set(
        self,
        flag: str,
        percent: int,
        segments: list[str],
        actor: str,
        expected_version: str | None = None,
    ) -> FlagView:
        view = self.inner.set(flag, percent, segments, actor, expected_version)
        self._changed()
        return view

    def clear_user_rules(self, flag: str, segments: list[str], actor: str) -> int:
        cleared = self.inner.clear_user_rules(flag, segments, actor)
        self._changed()
        return cleared

    def health(self, flags: Sequence[str]) -> ProviderHealth:
        return self.inner.health(flags)

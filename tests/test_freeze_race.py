"""A freeze and a flag change at the same moment: the flag write either happened before the
freeze (and its record comes first) or was refused; never "Done" after a freeze committed.
Two replicas (two engines) on one SQLite file and on PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.errors import Refusal
from bot.playbook import Playbook
from bot.services import Services, build_services
from bot.settings import Settings
from tests.conftest import SRE

pytestmark = pytest.mark.slow

TRIALS = 12


class WriteThenWait:
    """The provider of replica A: once inside a flag write, it lets the freeze go and gives
    it a moment to commit before it writes (the window in which the race used to land)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.writing = threading.Event()
        self.frozen = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def set(self, *args: Any, **kwargs: Any) -> Any:
        self.writing.set()
        self.frozen.wait(0.3)  # the freeze commits here unless the write holds it off
        return self.inner.set(*args, **kwargs)


def trial(a: Services, b: Services, provider: WriteThenWait, percent: int) -> None:
    provider.writing.clear()
    provider.frozen.clear()
    result: dict[str, Any] = {}

    def freeze() -> None:
        provider.writing.wait(5)
        result["freeze"] = b.rollout.freeze(SRE, "race").record
        provider.frozen.set()

    thread = threading.Thread(target=freeze)
    thread.start()
    try:
        result["set"] = a.rollout.set_flag(SRE, "SMART_PRICING", str(percent)).record
    except Refusal as refusal:
        result["set"] = refusal
    thread.join(10)
    set_record, freeze_record = result["set"], result["freeze"]
    if not isinstance(set_record, Refusal):
        assert set_record.seq < freeze_record.seq, "a flag write was recorded after the freeze"
    b.rollout.unfreeze(SRE, "next trial")


def race(url: str, settings: Settings, playbook: Playbook, clock: FakeClock) -> None:
    on_url = settings.model_copy(update={"database_url": url})
    a, b = build_services(on_url, playbook, clock), build_services(on_url, playbook, clock)
    provider = WriteThenWait(a.rollout.flags)
    a.rollout.flags = provider
    try:
        for n in range(TRIALS):
            trial(a, b, provider, 10 + n)
    finally:
        a.engine.dispose()
        b.engine.dispose()


def test_freeze_and_set(
    db_url: str, settings: Settings, playbook: Playbook, clock: FakeClock
) -> None:
    """On SQLite and on PostgreSQL (db_url's parameter)."""
    race(db_url, settings, playbook, clock)

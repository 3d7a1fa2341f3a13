"""The provider the playbook names, built from the environment's addresses and secrets."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from bot.clock import Clock
from bot.flags.base import FlagProvider
from bot.flags.embedded import EmbeddedFlagProvider
from bot.playbook import Playbook
from bot.settings import Settings


def build_provider(
    playbook: Playbook, settings: Settings, engine: Engine, clock: Clock
) -> FlagProvider:
    kind = playbook.flag_provider.kind
    if kind == "embedded":
        return EmbeddedFlagProvider(engine, clock)
    raise ValueError(f"flag provider {kind!r} is not built yet")

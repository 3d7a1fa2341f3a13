"""The provider the playbook names, built from the environment's addresses and secrets."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from bot.clock import Clock
from bot.flags.base import FlagProvider
from bot.flags.embedded import EmbeddedFlagProvider
from bot.flags.http import HttpFlagProvider
from bot.playbook import Playbook
from bot.settings import Settings


class ProviderSetupError(ValueError):
    """The playbook names a provider the environment does not say how to reach."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def setup_problems(playbook: Playbook, settings: Settings) -> list[str]:
    """What is missing to build the provider the playbook names (empty: nothing)."""
    kind = playbook.flag_provider.kind
    if kind == "http" and not settings.flags_http_url:
        return [
            "FLAGS_HTTP_URL is not set: the playbook's flag_provider.kind is http "
            "(the in-house flag service's base URL, e.g. http://feature-flags-service:8080)"
        ]
    return []


def build_provider(
    playbook: Playbook, settings: Settings, engine: Engine, clock: Clock
) -> FlagProvider:
    kind = playbook.flag_provider.kind
    if problems := setup_problems(playbook, settings):
        raise ProviderSetupError(problems)
    if kind == "embedded":
        return EmbeddedFlagProvider(engine, clock)
    if kind == "http":
        token = settings.flags_http_token
        return HttpFlagProvider(
            settings.flags_http_url or "",
            token.get_secret_value() if token else None,
            playbook.flag_provider.http,
            known_flags=playbook.flags,
        )
    raise ValueError(f"flag provider {kind!r} is not built yet")

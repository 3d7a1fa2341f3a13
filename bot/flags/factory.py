"""The provider the playbook names, built from the environment's addresses and secrets."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine, make_url

from bot.clock import Clock
from bot.flags.base import FlagProvider
from bot.flags.embedded import EmbeddedFlagProvider
from bot.flags.health import check_health, health_line
from bot.flags.http import HttpFlagProvider
from bot.flags.unleash import UnleashProvider
from bot.playbook import Playbook
from bot.settings import Settings
from storage.db import make_engine


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
    if kind == "unleash":
        missing = []
        if not settings.unleash_url:
            missing.append(
                "UNLEASH_URL is not set: the playbook's flag_provider.kind is unleash "
                "(Unleash's base URL, e.g. http://unleash:4242)"
            )
        if not settings.unleash_admin_token:
            missing.append("UNLEASH_ADMIN_TOKEN is not set (an admin API token, *:*.…)")
        return missing
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
    token = settings.unleash_admin_token
    return UnleashProvider(
        settings.unleash_url or "",
        token.get_secret_value() if token else "",
        playbook.flag_provider.unleash,
        known_flags=playbook.flags,
    )


@dataclass(frozen=True)
class ProviderCheck:
    """`warroom check`'s verdict on the provider: 0 well, 1 not healthy, 2 not configured."""

    code: int
    line: str
    problems: list[str] = field(default_factory=list)


def check_provider(playbook: Playbook, settings: Settings, clock: Clock) -> ProviderCheck:
    """Build the provider the playbook names and ask its health: reachable, the token's
    rights, every launch flag there."""
    kind = playbook.flag_provider.kind
    if problems := setup_problems(playbook, settings):
        return ProviderCheck(2, f"Flag provider ({kind}): ❌ not configured", problems)
    url = make_url(settings.database_url)
    sqlite = url.get_backend_name() == "sqlite"
    if kind == "embedded" and sqlite and not (url.database and Path(url.database).exists()):
        return ProviderCheck(
            0, f"Flag provider ({kind}): the bot's database, seeded from the playbook at start"
        )
    engine = make_engine(settings.database_url)
    try:
        provider = build_provider(playbook, settings, engine, clock)
        health = check_health(provider, playbook.flags)
        if isinstance(provider, HttpFlagProvider):
            provider.close()
    finally:
        engine.dispose()
    if health.ok:
        return ProviderCheck(0, health_line(kind, health))
    missing = [f"{flag}: not in the {kind} provider" for flag in health.missing_flags]
    return ProviderCheck(1, health_line(kind, health), [health.detail, *missing])

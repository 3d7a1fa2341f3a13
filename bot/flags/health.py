"""The flag provider's health as people see it: one line for the shift checklist, App Home
and `warroom check` ("Flag provider (http): ✅ 2 of 2 launch flags")."""

from __future__ import annotations

from collections.abc import Sequence

from bot.flags.base import FlagProvider, ProviderHealth


def check_health(provider: FlagProvider, flags: Sequence[str]) -> ProviderHealth:
    """The provider's own answer; a provider that raises is reported, never raised."""
    try:
        return provider.health(flags)
    except Exception as exc:  # noqa: BLE001 - a health check reports whatever went wrong
        return ProviderHealth(False, f"the health check failed: {type(exc).__name__}: {exc}")


def health_line(provider: str, health: ProviderHealth) -> str:
    detail = health.detail.removeprefix(f"{provider}: ")
    if health.ok:
        return f"{HEALTH_PREFIX}{provider}): ✅ {detail}"
    todo = "" if "—" in detail else " — run `warroom check` to see what is wrong"
    return f"{HEALTH_PREFIX}{provider}): ❌ {detail}{todo}"


HEALTH_PREFIX = "Flag provider ("  # how a stored health line is told from a metric's


def provider_line(provider: FlagProvider, flags: Sequence[str]) -> str:
    """The line itself, asked of the provider now."""
    return health_line(provider.name, check_health(provider, flags))

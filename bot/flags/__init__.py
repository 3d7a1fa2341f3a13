"""Flag state behind a small provider interface (embedded now; external providers later)."""

from bot.flags.base import FlagProvider, FlagProviderError, FlagView

__all__ = ["FlagProvider", "FlagProviderError", "FlagView"]

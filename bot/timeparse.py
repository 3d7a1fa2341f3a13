"""Launch times as people type them: ISO-8601, or local `YYYY-MM-DD HH:MM`."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.errors import Refusal


def parse_launch_time(text: str, zone: ZoneInfo) -> datetime:
    """Aware UTC instant. A time without an offset is local to the playbook's zone."""
    cleaned = text.strip().replace("T", " ", 1) if "T" in text else text.strip()
    try:
        parsed = datetime.fromisoformat(cleaned.replace("Z", "+00:00"))
    except ValueError:
        raise Refusal(
            f"`{text}` is not a time I can read.",
            "Use local `YYYY-MM-DD HH:MM` (e.g. `2026-12-01 10:00`) or ISO-8601 "
            "(e.g. `2026-12-01T09:00:00Z`).",
        ) from None
    if parsed.tzinfo is None:
        local = parsed.replace(tzinfo=zone)
        # A wall time skipped by a DST jump does not exist; one repeated is ambiguous.
        roundtrip = local.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
        if roundtrip != parsed:
            raise Refusal(
                f"{text} does not exist in {zone.key} (the clocks jump that night).",
                "Pick a time outside the daylight-saving change.",
            )
        parsed = local
    return parsed.astimezone(UTC)

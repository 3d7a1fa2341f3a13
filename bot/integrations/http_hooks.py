"""Cache clearing and the maintenance banner: plain HTTP endpoints of the team's services."""

from __future__ import annotations

from typing import Any

import httpx

from bot.integrations import IntegrationError

TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def _post(url: str, payload: dict[str, Any], token: str | None) -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.post(url, json=payload, headers=headers, timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        raise IntegrationError(f"POST {url} failed: {type(exc).__name__}: {exc}") from None
    if response.status_code >= 300:
        raise IntegrationError(f"POST {url} answered {response.status_code}: {response.text[:200]}")
    return f"POST {url} → {response.status_code}"


def clear_cache(url_template: str, service: str, token: str | None) -> str:
    return _post(url_template.replace("{service}", service), {"service": service}, token)


def set_banner(url: str, message: str, token: str | None) -> str:
    return _post(url, {"message": message, "active": True, "kind": "maintenance"}, token)

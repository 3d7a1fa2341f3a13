"""Issues in Jira Cloud through REST v3 `POST /rest/api/3/issue`, descriptions in ADF: the
rollback's Sev2 incident and the Phase 2 backlog's epics."""

from __future__ import annotations

from typing import Any

import httpx

from bot.integrations import IntegrationError
from bot.playbook import JiraSettings


def adf(paragraphs: list[str]) -> dict[str, Any]:
    """Atlassian Document Format: one paragraph per line of text."""
    return {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": text}]}
            for text in paragraphs
            if text
        ],
    }


def create_incident(
    settings: JiraSettings,
    summary: str,
    paragraphs: list[str],
    severity: int,
    email: str | None,
    token: str | None,
) -> tuple[str, str]:
    """Returns (key, browse URL)."""
    fields = {
        "project": {"key": settings.project_key},
        "issuetype": {"name": settings.issue_type},
        "summary": summary[:250],
        "priority": {"name": settings.priority},
        "labels": ["warroom", f"sev{severity}", "rollback"],
        "description": adf(paragraphs),
    }
    return _create(settings, fields, email, token)


def create_epic(
    settings: JiraSettings,
    summary: str,
    paragraphs: list[str],
    labels: list[str],
    email: str | None,
    token: str | None,
) -> tuple[str, str]:
    """An epic (the playbook's `epic_issue_type`) in `epic_project_key`, else `project_key`.
    Returns (key, browse URL)."""
    fields = {
        "project": {"key": settings.epic_project_key or settings.project_key},
        "issuetype": {"name": settings.epic_issue_type},
        "summary": summary[:250],
        "labels": labels,
        "description": adf(paragraphs),
    }
    return _create(settings, fields, email, token)


def _create(
    settings: JiraSettings, fields: dict[str, Any], email: str | None, token: str | None
) -> tuple[str, str]:
    if not (email and token):
        raise IntegrationError("JIRA_EMAIL and JIRA_API_TOKEN are not set")
    url = settings.base_url.rstrip("/") + "/rest/api/3/issue"
    try:
        response = httpx.post(
            url,
            json={"fields": fields},
            auth=(email, token),
            timeout=15,
            headers={"Accept": "application/json"},
        )
    except httpx.HTTPError as exc:
        raise IntegrationError(f"Jira at {settings.base_url} did not answer: {exc}") from None
    if response.status_code != 201:
        try:
            body = response.json()
            detail = "; ".join(
                body.get("errorMessages", [])
                + [f"{k}: {v}" for k, v in body.get("errors", {}).items()]
            )
        except ValueError:
            detail = response.text[:200]
        raise IntegrationError(f"Jira answered {response.status_code}: {detail}")
    key = response.json()["key"]
    return key, f"{settings.base_url.rstrip('/')}/browse/{key}"

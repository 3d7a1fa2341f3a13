"""Outbound Slack: Web API clients with retries, the poster every service uses, user groups."""

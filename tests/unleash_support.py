"""The real Unleash for the tests: one server per test session (skipped, with the reason, when
Node's packages or PostgreSQL are missing), its launch flags reset before each use."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.flags.unleash import UnleashProvider
from bot.playbook import load_playbook
from bot.playbook.flags import UnleashSettings
from tests.unleash_server import Unleash, start, why_not

LAUNCH_FLAGS = load_playbook().flags
ENV = "production"


@pytest.fixture(scope="session")
def unleash_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Unleash]:
    reason = why_not()
    if reason:
        pytest.skip(f"no Unleash to test against: {reason}")
    server = start(tmp_path_factory.mktemp("unleash") / "unleash.log")
    yield server
    server.stop()


def reset_flags(server: Unleash, flags: list[str], percent: int = 10) -> None:
    """Each flag exists, on in production, with only warroom's strategy: `percent` %
    internal_beta (the playbook's initial state)."""
    with server.admin() as admin:
        for flag in flags:
            base = f"/api/admin/projects/default/features/{flag}"
            if admin.get(base).status_code == 404:
                admin.post(
                    "/api/admin/projects/default/features", json={"name": flag}
                ).raise_for_status()
            env = next(e for e in admin.get(base).json()["environments"] if e["name"] == ENV)
            for strategy in env["strategies"]:
                admin.delete(
                    f"{base}/environments/{ENV}/strategies/{strategy['id']}"
                ).raise_for_status()
            admin.post(
                f"{base}/environments/{ENV}/strategies",
                json=strategy_body(flag, percent, ["internal_beta"], "warroom"),
            ).raise_for_status()
            admin.post(f"{base}/environments/{ENV}/on").raise_for_status()


def strategy_body(
    flag: str, percent: int, segments: list[str], title: str, users: list[str] | None = None
) -> dict:
    constraints = [{"contextName": "segment", "operator": "IN", "values": segments}]
    if users:
        constraints.append({"contextName": "userId", "operator": "IN", "values": users})
    return {
        "name": "flexibleRollout",
        "title": title,
        "parameters": {"rollout": str(percent), "stickiness": "default", "groupId": flag},
        "constraints": constraints,
    }


class ServedUnleashProvider(UnleashProvider):
    """The provider with its server at hand, and the contract suite's `add_user_rule`."""

    def __init__(self, server: Unleash) -> None:
        super().__init__(
            server.url,
            server.admin_token,
            UnleashSettings(timeout_seconds=5, backoff_seconds=0),
            LAUNCH_FLAGS,
            sleep=lambda s: None,
        )
        self.server = server

    def add_user_rule(self, flag: str, segment: str, user_key: str) -> None:
        with self.server.admin() as admin:
            admin.post(
                f"/api/admin/projects/default/features/{flag}/environments/{ENV}/strategies",
                json=strategy_body(flag, 100, [segment], f"users-{segment}", [user_key]),
            ).raise_for_status()


def unleash_provider(server: Unleash) -> ServedUnleashProvider:
    reset_flags(server, LAUNCH_FLAGS)
    return ServedUnleashProvider(server)

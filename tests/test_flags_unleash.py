"""warroom driving a real Unleash (7.5.1 on PostgreSQL): the rollback runbook end to end,
read back through the Admin API and through the client API a service's SDK uses; a change
made in Unleash behind the bot's back is seen as drift; a stale `/rollout set` is refused."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from bot.clock import FakeClock
from bot.errors import Refusal
from bot.playbook import Playbook
from bot.playbook.flags import UnleashSettings
from bot.rollout.drift import OBSERVED
from bot.services import Services, build_services
from bot.settings import Settings
from bot.slack_out.messages.common import as_dicts
from bot.slack_out.messages.rollout import status_message
from storage.status import RollbackStatus
from tests.conftest import PRODUCT, SRE, SUPPORT
from tests.rollback_support import rollback_playbook
from tests.unleash_server import Unleash
from tests.unleash_support import (
    ENV,
    LAUNCH_FLAGS,
    reset_flags,
    strategy_body,
    unleash_server,  # noqa: F401 - the fixture
)

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only("Unleash is the point")]

EXTERNAL = ["internal_beta", "external_beta"]


def with_unleash(book: Playbook) -> Playbook:
    settings = UnleashSettings(timeout_seconds=5, backoff_seconds=0)
    provider = book.flag_provider.model_copy(update={"kind": "unleash", "unleash": settings})
    return book.model_copy(update={"flag_provider": provider})


def unleash_services(
    settings: Settings, book: Playbook, clock: FakeClock, server: Unleash
) -> Services:
    settings = settings.model_copy(
        update={"unleash_url": server.url, "unleash_admin_token": SecretStr(server.admin_token)}
    )
    return build_services(settings, with_unleash(book), clock, sleep=lambda seconds: None)


def behind_the_back(server: Unleash, flag: str, percent: int, segments: list[str]) -> None:
    """Someone changes warroom's strategy in Unleash (its UI, its API)."""
    with server.admin() as admin:
        base = f"/api/admin/projects/default/features/{flag}/environments/{ENV}/strategies"
        ours = next(s for s in admin.get(base).json() if s.get("title") == "warroom")
        admin.put(f"{base}/{ours['id']}", json=strategy_body(flag, percent, segments, "warroom"))


def add_users(server: Unleash, flag: str, segment: str, users: list[str]) -> None:
    with server.admin() as admin:
        admin.post(
            f"/api/admin/projects/default/features/{flag}/environments/{ENV}/strategies",
            json=strategy_body(flag, 100, [segment], f"users-{segment}", users),
        ).raise_for_status()


def client_view(server: Unleash, flag: str) -> tuple[str, list[str], list[dict[str, Any]]]:
    """(rollout, segments, the user strategies) as Unleash's client API serves them."""
    feature = server.client_features()[flag]
    ours = next(s for s in feature["strategies"] if not _users(s))
    segment = next(c for c in ours["constraints"] if c["contextName"] == "segment")
    return (
        ours["parameters"]["rollout"],
        segment["values"],
        [s for s in feature["strategies"] if _users(s)],
    )


def _users(strategy: dict[str, Any]) -> list[str]:
    return [v for c in strategy["constraints"] if c["contextName"] == "userId" for v in c["values"]]


def test_the_runbook_reverts_the_flags_in_unleash(
    settings: Settings,
    clock: FakeClock,
    unleash_server: Unleash,  # noqa: F811
) -> None:
    reset_flags(unleash_server, LAUNCH_FLAGS, percent=25)
    for flag in LAUNCH_FLAGS:
        behind_the_back(unleash_server, flag, 25, EXTERNAL)
        add_users(unleash_server, flag, "external_beta", ["customer-42", "customer-43"])
        add_users(unleash_server, flag, "internal_beta", ["staff-7"])
    services = unleash_services(settings, rollback_playbook(), clock, unleash_server)
    services.rollback.open(SRE, ["checkout", "errors", "at", "5", "%"])
    services.rollback.approve(1, PRODUCT)
    services.rollback.approve(1, SUPPORT)
    services.runbook.wait_idle()

    view = services.rollback.view(1)
    assert view.request.status == RollbackStatus.DONE, [(s.name, s.error) for s in view.steps]
    for flag in LAUNCH_FLAGS:
        admin = services.rollout.flags.get(flag)  # the Admin API
        assert (admin.percent, admin.segments, admin.user_rules) == (10, ["internal_beta"], 1)
        rollout, segments, users = client_view(unleash_server, flag)  # what an SDK sees
        assert (rollout, segments) == ("10", ["internal_beta"])
        assert [_users(s) for s in users] == [["staff-7"]]  # external user rules gone


def test_a_change_in_unleash_is_seen_as_drift_and_recorded_once(
    settings: Settings,
    clock: FakeClock,
    unleash_server: Unleash,  # noqa: F811
) -> None:
    reset_flags(unleash_server, LAUNCH_FLAGS)
    services = unleash_services(settings, rollback_playbook(), clock, unleash_server)
    services.rollout.set_flag(SRE, "SMART_PRICING", "25", "internal_beta,external_beta")
    assert services.rollout.status().changed_outside == frozenset()

    behind_the_back(unleash_server, "SMART_PRICING", 50, EXTERNAL)
    first = services.rollout.status()
    again = services.rollout.status()
    assert first.changed_outside == again.changed_outside == {"SMART_PRICING"}
    observed = [r for r in services.rollout.history("50") if r.action == OBSERVED]
    assert len(observed) == 1
    assert (observed[0].before["percent"], observed[0].after["percent"]) == (25, 50)
    assert observed[0].actor == "outside:unleash"


def test_a_set_on_a_stale_view_is_refused(
    settings: Settings,
    clock: FakeClock,
    unleash_server: Unleash,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reset_flags(unleash_server, LAUNCH_FLAGS)
    services = unleash_services(settings, rollback_playbook(), clock, unleash_server)
    provider = services.rollout.flags
    read = provider.get

    def read_then_someone_changes_it(flag: str) -> Any:
        view = read(flag)
        behind_the_back(unleash_server, flag, 50, EXTERNAL)  # between the read and the write
        return view

    monkeypatch.setattr(provider, "get", read_then_someone_changes_it)
    with pytest.raises(Refusal) as refused:
        services.rollout.set_flag(SRE, "SMART_PRICING", "25", "internal_beta,external_beta")
    monkeypatch.undo()
    assert "changed in unleash" in refused.value.message and "now 50 %" in refused.value.message
    assert provider.get("SMART_PRICING").percent == 50  # not overwritten


def test_a_flag_switched_off_in_unleash_is_seen_refused_and_never_switched_on(
    settings: Settings,
    clock: FakeClock,
    unleash_server: Unleash,  # noqa: F811
) -> None:
    reset_flags(unleash_server, LAUNCH_FLAGS)
    services = unleash_services(settings, rollback_playbook(), clock, unleash_server)
    services.rollout.set_flag(SRE, "SMART_PRICING", "25", "internal_beta,external_beta")
    with unleash_server.admin() as admin:  # someone switches it off in Unleash's UI
        admin.post(
            f"/api/admin/projects/default/features/SMART_PRICING/environments/{ENV}/off"
        ).raise_for_status()
    status = services.rollout.status()
    assert status.changed_outside == {"SMART_PRICING"}
    [observed] = [r for r in services.rollout.history("50") if r.action == OBSERVED]
    assert (observed.before["enabled"], observed.after["enabled"]) == (True, False)
    text, blocks = status_message(status, services.playbook.zone)
    assert "switched off" in str(as_dicts(blocks))
    with pytest.raises(Refusal, match="switched off in unleash"):
        services.rollout.set_flag(SRE, "SMART_PRICING", "50")
    # a rollback lowers it and leaves it off: off is the safer state
    services.rollback.open(SRE, ["saga", "failures"])
    services.rollback.approve(1, PRODUCT)
    services.rollback.approve(1, SUPPORT)
    services.runbook.wait_idle()
    after = services.rollout.flags.get("SMART_PRICING")
    assert (after.percent, after.enabled) == (10, False)


def test_who_and_when_a_flag_last_changed_come_from_unleash(
    settings: Settings,
    clock: FakeClock,
    unleash_server: Unleash,  # noqa: F811
) -> None:
    reset_flags(unleash_server, LAUNCH_FLAGS)
    services = unleash_services(settings, rollback_playbook(), clock, unleash_server)
    services.rollout.set_flag(SRE, "SMART_PRICING", "25", "internal_beta,external_beta")
    first = services.rollout.flags.get("SMART_PRICING")
    assert first.updated_at is not None and first.updated_by  # the token's user in Unleash
    behind_the_back(unleash_server, "SMART_PRICING", 50, EXTERNAL)
    later = services.rollout.flags.get("SMART_PRICING")
    assert later.updated_at is not None and later.updated_at >= first.updated_at
    assert later.percent == 50

"""The flagd file: written on every change (WARROOM_FLAGD_FILE) and by `warroom flags
export`, read by the OpenFeature flagd provider in its in-process file mode, agreeing with
OFREP key by key — before and after a rollback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, cast

import httpx
import pytest

from bot.clock import FakeClock
from bot.flags.evaluation import FlagRules
from bot.flags.flagd import flagd_document
from bot.flags.flagd_mirror import MirroredProvider
from bot.playbook import Playbook
from bot.services import Services
from bot.settings import Settings
from tests.test_ofrep import (
    FLAG,
    KEYS,
    OFREP_TOKEN,
    QUARTER_TOLERANCE,
    SAMPLE,
    OfrepBot,
    rollback,
    running_bot,
    set_25,
)

if TYPE_CHECKING:
    from openfeature.client import OpenFeatureClient
    from openfeature.contrib.provider.flagd import FlagdProvider

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only("flagd's evaluator is the point")]

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def ofrep_bot(
    settings: Settings, playbook: Playbook, clock: FakeClock, tmp_path: Path
) -> Iterator[OfrepBot]:
    with running_bot(settings, playbook, clock, tmp_path) as bot:
        yield bot


def flagd_client(path: Path) -> tuple[OpenFeatureClient, FlagdProvider]:
    flagd = pytest.importorskip("openfeature.contrib.provider.flagd", reason="no flagd provider")
    from openfeature import api
    from openfeature.contrib.provider.flagd.config import ResolverType

    provider = flagd.FlagdProvider(
        resolver_type=ResolverType.FILE, offline_flag_source_path=str(path), deadline_ms=200
    )
    from openfeature.provider import ProviderStatus

    api.set_provider(provider, "flagd-file")
    client = api.get_client("flagd-file")
    deadline = time.monotonic() + 10  # the provider reads the file on a thread of its own
    while client.get_provider_status() != ProviderStatus.READY:
        assert time.monotonic() < deadline, "the flagd provider did not get ready"
        time.sleep(0.02)
    return client, provider


def flagd_answers(client: OpenFeatureClient, keys: list[str], segment: str) -> list[bool]:
    from openfeature.evaluation_context import EvaluationContext

    return [
        client.get_boolean_value(FLAG, False, EvaluationContext(k, {"segment": segment}))
        for k in keys
    ]


def ofrep_answers(bot: OfrepBot, keys: list[str], segment: str) -> list[bool]:
    headers = {"Authorization": f"Bearer {OFREP_TOKEN}"}
    url = f"{bot.url}/ofrep/v1/evaluate/flags/{FLAG}"
    with httpx.Client(timeout=10) as http:
        return [
            http.post(
                url, json={"context": {"targetingKey": k, "segment": segment}}, headers=headers
            ).json()["value"]
            for k in keys
        ]


def test_flagd_file_agrees_with_ofrep_key_by_key(ofrep_bot: OfrepBot) -> None:
    """Key by key on SAMPLE (why 1,000 keys suffice: tests.test_ofrep); the external
    segment on the last 250 keys, which hold the per-user rule."""
    set_25(ofrep_bot)
    flags = cast(MirroredProvider, ofrep_bot.services.rollout.flags)  # embedded: add_user_rule
    flags.add_user_rule(FLAG, "external_beta", "user-9999")
    client, provider = flagd_client(ofrep_bot.flagd_file)
    try:
        internal = flagd_answers(client, SAMPLE, "internal_beta")
        assert internal == ofrep_answers(ofrep_bot, SAMPLE, "internal_beta")
        assert abs(sum(internal) - 250) <= QUARTER_TOLERANCE, sum(internal)
        few = KEYS[-250:]
        external = flagd_answers(client, few, "external_beta")
        assert external == ofrep_answers(ofrep_bot, few, "external_beta")
        assert external[-1] is True  # the per-user rule
        assert 0 < sum(external[:-1]) < len(few) - 1  # a split, not all or nothing
        # the watcher compares modification times: date the file a second back, so the
        # rollback's rewrite is seen as newer whatever the file system's granularity
        before = ofrep_bot.flagd_file.stat().st_mtime_ns - 1_000_000_000
        os.utime(ofrep_bot.flagd_file, ns=(before, before))
        rollback(ofrep_bot)
        assert ofrep_bot.flagd_file.stat().st_mtime_ns > before
        deadline = time.monotonic() + 5
        while any(flagd_answers(client, few[-50:], "external_beta")):
            assert time.monotonic() < deadline, "the flagd provider did not reload the file"
            time.sleep(0.02)
        assert flagd_answers(client, SAMPLE, "internal_beta") == ofrep_answers(
            ofrep_bot, SAMPLE, "internal_beta"
        )
    finally:
        provider.shutdown()


def test_document_shape() -> None:
    doc = flagd_document(
        {
            "A": FlagRules("A", 25, ("internal_beta",), {"u1": True}),
            "B": FlagRules("B", 0, ("internal_beta",)),
            "C": FlagRules("C", 100, ("internal_beta",)),
        }
    )
    assert doc["$schema"] == "https://flagd.dev/schema/v0/flags.json"
    a = doc["flags"]["A"]
    assert a["variants"] == {"on": True, "off": False} and a["defaultVariant"] == "off"
    assert a["targeting"]["if"][-1] == {"fractional": [["on", 25], ["off", 75]]}
    assert doc["flags"]["B"]["targeting"] == {} and doc["flags"]["B"]["defaultVariant"] == "off"
    assert doc["flags"]["C"]["targeting"]["if"][-1] == "on"


def test_export_command(tmp_path: Path, db_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": db_url, "PYTHONPATH": str(ROOT)}
    env.pop("WARROOM_FLAGD_FILE", None)
    out = tmp_path / "flags.json"
    # a first run creates the database; the flags are seeded by the bot, so start it once
    from bot.services import build_services
    from bot.settings import Settings

    build_services(Settings(database_url=db_url))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "flags",
            "export",
            "--format",
            "flagd",
            "--out",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "exported 2 flag(s) as flagd" in done.stderr
    assert set(json.loads(out.read_text())["flags"]) == {"ADVANCED_CHECKOUT", "SMART_PRICING"}
    bad = subprocess.run(
        [sys.executable, "-m", "bot.cli", "flags", "export", "--format", "yaml"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "invalid choice: 'yaml'" in bad.stderr


def test_mirror_runs_hooks_after_a_change_only(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.flags.base import FlagProviderError

    calls: list[str] = []

    def boom() -> None:
        raise OSError("disk full")

    inner = cast(MirroredProvider, services.rollout.flags).inner  # the embedded one, mirrored
    mirrored = MirroredProvider(inner, [boom, lambda: calls.append("after")])
    view = mirrored.set(FLAG, 25, ["internal_beta"], "U0SRE00001")
    assert view.percent == 25 and inner.get(FLAG).percent == 25  # the hook's failure undid nothing
    assert calls == ["after"] and "flags.mirror_failed" in caplog.text
    with pytest.raises(FlagProviderError):
        mirrored.set("NO_SUCH_FLAG", 25, ["internal_beta"], "U0SRE00001")
    assert calls == ["after"]  # a failed change runs no hook
    mirrored.add_user_rule(FLAG, "external_beta", "user-1")
    assert calls == ["after", "after"]

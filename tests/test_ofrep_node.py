"""OFREP with the Node OpenFeature server SDK and its OFREP provider (npm, no one here wrote
them): a quarter of 10,000 keys at 25 %, the same answers twice, monotonic 10 % → 25 %,
the bulk endpoint's ETag through ofrep-core's client, and the reverted state after a
rollback (this provider has no cache: the next evaluation sees it)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.playbook import Playbook
from bot.settings import Settings
from tests.test_ofrep import (
    FLAG,
    OFREP_TOKEN,
    TOLERANCE,
    OfrepBot,
    rollback,
    running_bot,
    set_25,
)

HERE = Path(__file__).parent / "node" / "openfeature"
NODE = shutil.which("node")


@pytest.fixture
def ofrep_bot(
    settings: Settings, playbook: Playbook, clock: FakeClock, tmp_path: Path
) -> Iterator[OfrepBot]:
    with running_bot(settings, playbook, clock, tmp_path) as bot:
        yield bot


def node(*args: str) -> str:
    if NODE is None:
        pytest.skip("node is not installed")
    if not (HERE / "node_modules" / "@openfeature" / "ofrep-provider").exists():
        pytest.skip(f"the npm packages are not installed: run `npm ci` in {HERE}")
    done = subprocess.run(
        [NODE, str(HERE / "check.mjs"), *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def enabled(bot: OfrepBot, segment: str = "internal_beta", count: int = 10_000) -> set[int]:
    bits = node("evaluate", bot.url, OFREP_TOKEN, FLAG, segment, str(count))
    assert len(bits) == count
    return {i for i, bit in enumerate(bits) if bit == "1"}


def test_node_sdk_quarter_same_monotonic_rollback(ofrep_bot: OfrepBot) -> None:
    at_10 = enabled(ofrep_bot)
    assert abs(len(at_10) - 1000) <= TOLERANCE, len(at_10)  # p = 0.1: sd = 30
    assert not enabled(ofrep_bot, "external_beta", 2000)
    set_25(ofrep_bot)
    at_25 = enabled(ofrep_bot)
    assert abs(len(at_25) - 2500) <= TOLERANCE, len(at_25)  # p = 0.25: sd ≈ 43
    assert at_10 <= at_25  # a key enabled at 10 % stays enabled at 25 %
    assert enabled(ofrep_bot) == at_25  # the same key, the same answer
    assert abs(len(enabled(ofrep_bot, "external_beta")) - 2500) <= TOLERANCE
    rollback(ofrep_bot)
    assert enabled(ofrep_bot) == at_10
    assert not enabled(ofrep_bot, "external_beta", 2000)


def test_node_bulk_etag(ofrep_bot: OfrepBot) -> None:
    first = json.loads(node("bulk", ofrep_bot.url, OFREP_TOKEN, "user-3", "external_beta"))
    assert first["status"] == 200 and first["etag"]
    assert {f["key"]: f["value"] for f in first["flags"]}[FLAG] is False
    again = json.loads(
        node("bulk", ofrep_bot.url, OFREP_TOKEN, "user-3", "external_beta", first["etag"])
    )
    assert again["status"] == 304
    set_25(ofrep_bot)
    after = json.loads(
        node("bulk", ofrep_bot.url, OFREP_TOKEN, "user-3", "external_beta", first["etag"])
    )
    assert after["status"] == 200 and after["etag"] != first["etag"]
    assert {f["key"]: f["reason"] for f in after["flags"]}[FLAG] == "SPLIT"


def test_flagd_file_passes_flagds_own_schema(ofrep_bot: OfrepBot) -> None:
    ofrep_bot.services.rollout.set_flag("U0SRE00001", FLAG, "25", "internal_beta,external_beta")
    assert json.loads(node("validate", str(ofrep_bot.flagd_file))) == {"valid": True}
    broken = ofrep_bot.flagd_file.with_name("broken.json")
    broken.write_text(json.dumps({"flags": {FLAG: {"state": "ON", "variants": {}}}}))
    if NODE:
        done = subprocess.run(
            [NODE, str(HERE / "check.mjs"), "validate", str(broken)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode != 0  # the check can fail

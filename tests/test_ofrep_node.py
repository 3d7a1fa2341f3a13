"""OFREP with the Node OpenFeature server SDK and its OFREP provider (npm, no one here wrote
them), one client kept open through the test: key by key the answers flagd's own bucketing
gives at 10 % and 25 % (a quarter at 25 %), the same answers twice, monotonic 10 % → 25 %,
the bulk endpoint's ETag through ofrep-core's client, and the reverted state after a
rollback (this provider has no cache: the next evaluation sees it)."""

from __future__ import annotations

import json
import select
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
    QUARTER_TOLERANCE,
    SAMPLE,
    SMALL,
    TENTH_TOLERANCE,
    OfrepBot,
    flagd_on,
    rollback,
    running_bot,
    set_25,
)

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only("the Node OpenFeature SDK is the point")]

HERE = Path(__file__).parent / "node" / "openfeature"
NODE = shutil.which("node")


@pytest.fixture
def ofrep_bot(
    settings: Settings, playbook: Playbook, clock: FakeClock, tmp_path: Path
) -> Iterator[OfrepBot]:
    with running_bot(settings, playbook, clock, tmp_path) as bot:
        yield bot


def node_or_skip() -> str:
    if NODE is None:
        pytest.skip("node is not installed")
    if not (HERE / "node_modules" / "@openfeature" / "ofrep-provider").exists():
        pytest.skip(f"the npm packages are not installed: run `npm ci` in {HERE}")
    return NODE


def node(*args: str) -> str:
    done = subprocess.run(
        [node_or_skip(), str(HERE / "check.mjs"), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class NodeClient:
    """`check.mjs session`: one Node process and one OFREP provider for the whole test."""

    def __init__(self, bot: OfrepBot) -> None:
        self.process = subprocess.Popen(
            [node_or_skip(), str(HERE / "check.mjs"), "session", bot.url, OFREP_TOKEN, FLAG],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def enabled(self, keys: list[str], segment: str = "internal_beta") -> set[str]:
        """The keys (user-0 … user-<n-1>) the SDK evaluates to on."""
        assert keys == [f"user-{i}" for i in range(len(keys))]
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(f"{segment} {len(keys)}\n")
        stdin.flush()
        ready, _, _ = select.select([stdout], [], [], 120)
        line = stdout.readline() if ready else ""
        assert len(line) == len(keys) + 1, self.failure()
        return {key for key, bit in zip(keys, line, strict=False) if bit == "1"}

    def failure(self) -> str:
        self.process.kill()
        assert self.process.stderr is not None
        return self.process.stderr.read()[-2000:]

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            code = self.process.wait(timeout=10)  # stdin closed: the session ends
        except subprocess.TimeoutExpired:
            code = None
        assert code == 0, self.failure()
        for pipe in (self.process.stdout, self.process.stderr):
            assert pipe is not None
            pipe.close()


def test_node_sdk_quarter_same_monotonic_rollback(ofrep_bot: OfrepBot) -> None:
    """Each answer is flagd's (see tests.test_ofrep.SAMPLE for why 1,000 keys suffice)."""
    sdk = NodeClient(ofrep_bot)
    try:
        at_10 = sdk.enabled(SAMPLE)
        assert at_10 == flagd_on(SAMPLE, 10)
        assert abs(len(at_10) - 100) <= TENTH_TOLERANCE, len(at_10)
        assert not sdk.enabled(SMALL, "external_beta")
        set_25(ofrep_bot)
        at_25 = sdk.enabled(SAMPLE)
        assert at_25 == flagd_on(SAMPLE, 25)
        assert abs(len(at_25) - 250) <= QUARTER_TOLERANCE, len(at_25)
        assert at_10 <= at_25  # a key enabled at 10 % stays enabled at 25 %
        assert sdk.enabled(SMALL) == at_25 & set(SMALL)  # the same key, the same answer
        assert sdk.enabled(SMALL, "external_beta") == at_25 & set(SMALL)
        rollback(ofrep_bot)  # the same provider instance: no cache may hide the change
        assert sdk.enabled(SAMPLE) == at_10
        assert not sdk.enabled(SMALL, "external_beta")
    finally:
        sdk.close()


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

"""A real restart: `warroom serve` killed with SIGKILL in the middle of a runbook, started
again, and the runbook finishing exactly once, without repeating completed steps."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml
from sqlmodel import Session, select

from bot.local import payloads
from bot.local.fake_slack import FakeSlack
from bot.playbook import RollbackVerify
from storage.db import make_engine
from storage.models import DecisionRecord, RollbackRequest, RunbookStep
from tests.conftest import PRODUCT, SECRET, SRE, SUPPORT, TOKEN
from tests.rollback_support import rollback_playbook
from tests.test_cli_modes import _port

SLOW_E2E = f"{sys.executable} -c \"import time; time.sleep(3); print('e2e ok')\""


def start(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc
        except httpx.TransportError:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.1)
    raise TimeoutError(log.read_text())


def wait_until(predicate, timeout: float = 30):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError("condition never held")


def test_sigkill_mid_runbook_then_restart_finishes_exactly_once(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    book = rollback_playbook(verify=RollbackVerify(e2e_command=SLOW_E2E))
    playbook_file = tmp_path / "playbook.yml"
    playbook_file.write_text(yaml.safe_dump(book.model_dump(mode="json", by_alias=True)))
    db = tmp_path / "restart.db"
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake_slack.api_url,
        "DATABASE_URL": f"sqlite:///{db}",
        "WARROOM_PLAYBOOK": str(playbook_file),
        "WARROOM_RUNBOOK_LEASE_SECONDS": "1",
    }
    port, log = _port(), tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}/slack/events"
    channel = "#phase1-war-room"

    def send(body: str) -> None:
        assert (
            httpx.post(
                url, content=body, headers=payloads.signed_headers(SECRET, body), timeout=10
            ).status_code
            == 200
        )

    def command(command: str, text: str, user: str) -> None:
        send(
            payloads.slash_command(
                command, text, user, channel, fake_slack.response_url(channel, user)
            )
        )

    engine = make_engine(f"sqlite:///{db}")

    def steps() -> dict[str, RunbookStep]:
        with Session(engine) as session:
            return {s.name: s for s in session.exec(select(RunbookStep))}

    first = start(env, port, log)
    try:
        command("/rollout", "set SMART_PRICING 25 internal_beta,external_beta", SRE)
        fake_slack.wait_for(lambda f: f.channel_messages())
        command("/rollback", "SMART_PRICING saga failures", SRE)
        message = fake_slack.wait_for(
            lambda f: next(
                (m for m in f.channel_messages() if m.text.startswith("Rollback #1")), None
            )
        )
        for user in (PRODUCT, SUPPORT):
            send(
                payloads.block_actions(
                    user,
                    channel,
                    message.ts,
                    "rollback.approve",
                    "1",
                    "rollback.actions",
                    fake_slack.response_url(channel, user, message.ts),
                )
            )
        wait_until(lambda: steps().get("verify") and steps()["verify"].status == "running")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    killed = steps()
    assert [killed[n].status for n in ("freeze", "revert", "empty_rules", "clear_caches")] == [
        "done",
        "done",
        "done",
        "skipped",
    ]
    assert killed["verify"].status == "running"

    second = start(env, port, log)
    try:

        def request() -> RollbackRequest:
            with Session(engine) as session:
                found = session.get(RollbackRequest, 1)
                assert found is not None
                return found

        wait_until(lambda: request().status == "done", timeout=40)
        time.sleep(1.5)  # the watch runs every lease period: give it the chance to misbehave
    finally:
        second.terminate()
        second.wait(timeout=10)
    final = steps()
    assert all(final[n].attempts == 1 for n in ("freeze", "revert", "empty_rules"))
    assert final["verify"].attempts == 2 and final["verify"].status == "done"
    with Session(engine) as session:
        actions = [r.action for r in session.exec(select(DecisionRecord))]
    assert actions.count("rollback.done") == 1
    assert actions.count("rollback.revert") == 1  # SMART_PRICING reverted once
    completes = [m for m in fake_slack.channel_messages() if "Rollback complete" in m.text]
    assert len(completes) == 1

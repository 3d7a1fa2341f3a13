"""A real restart: `warroom serve` killed with SIGKILL in the middle of a runbook, started
again, and the runbook finishing exactly once, without repeating completed steps."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import yaml
from sqlmodel import Session, select

from bot.local import payloads
from bot.local.fake_slack import FakeSlack
from bot.playbook import RollbackVerify
from bot.replica import is_gone
from storage.db import make_engine
from storage.models import DecisionRecord, RollbackRequest, RunbookStep
from tests.conftest import PRODUCT, SECRET, SRE, SUPPORT, TOKEN
from tests.rollback_support import rollback_playbook
from tests.test_cli_modes import _port

pytestmark = pytest.mark.slow

CHANNEL = "#phase1-war-room"
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


def wait_until(predicate: Callable[[], object], timeout: float = 30) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError("condition never held")


class Workspace:
    """The bot's Slack endpoint as a person uses it, and the database it writes."""

    def __init__(self, fake_slack: FakeSlack, port: int, db: Path) -> None:
        self.fake = fake_slack
        self.url = f"http://127.0.0.1:{port}/slack/events"
        self.engine = make_engine(f"sqlite:///{db}")

    def send(self, body: str) -> None:
        headers = payloads.signed_headers(SECRET, body)
        assert httpx.post(self.url, content=body, headers=headers, timeout=10).status_code == 200

    def command(self, command: str, text: str, user: str) -> None:
        url = self.fake.response_url(CHANNEL, user)
        self.send(payloads.slash_command(command, text, user, CHANNEL, url))

    def approve(self, user: str, message_ts: str) -> None:
        url = self.fake.response_url(CHANNEL, user, message_ts)
        self.send(
            payloads.block_actions(
                user, CHANNEL, message_ts, "rollback.approve", "1", "rollback.actions", url
            )
        )

    def steps(self) -> dict[str, RunbookStep]:
        with Session(self.engine) as session:
            return {s.name: s for s in session.exec(select(RunbookStep))}

    def request(self) -> RollbackRequest:
        with Session(self.engine) as session:
            found = session.get(RollbackRequest, 1)
            assert found is not None
            return found

    def actions(self) -> list[str]:
        with Session(self.engine) as session:
            return [r.action for r in session.exec(select(DecisionRecord))]


def serve_env(tmp_path: Path, fake_slack: FakeSlack) -> dict[str, str]:
    book = rollback_playbook(verify=RollbackVerify(e2e_command=SLOW_E2E))
    playbook_file = tmp_path / "playbook.yml"
    playbook_file.write_text(yaml.safe_dump(book.model_dump(mode="json", by_alias=True)))
    return {
        **os.environ,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake_slack.api_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'restart.db'}",
        "WARROOM_PLAYBOOK": str(playbook_file),
        # long: the restart must recognise its own dead runbook, not wait the lease out
        "WARROOM_RUNBOOK_LEASE_SECONDS": "120",
    }


def signed_then_killed_in_verify(proc: subprocess.Popen, ws: Workspace) -> None:
    try:
        ws.command("/rollout", "set SMART_PRICING 25 internal_beta,external_beta", SRE)
        ws.fake.wait_for(lambda f: f.channel_messages())
        ws.command("/rollback", "SMART_PRICING saga failures", SRE)
        message = ws.fake.wait_for(
            lambda f: next(
                (m for m in f.channel_messages() if m.text.startswith("Rollback #1")), None
            )
        )
        for user in (PRODUCT, SUPPORT):
            ws.approve(user, message.ts)
        wait_until(lambda: ws.steps().get("verify") and ws.steps()["verify"].status == "running")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)


def test_sigkill_mid_runbook_then_restart_finishes_exactly_once(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    env = serve_env(tmp_path, fake_slack)
    port, log = _port(), tmp_path / "serve.log"
    ws = Workspace(fake_slack, port, tmp_path / "restart.db")
    signed_then_killed_in_verify(start(env, port, log), ws)
    killed = ws.steps()
    assert [killed[n].status for n in ("freeze", "revert", "empty_rules", "clear_caches")] == [
        "done",
        "done",
        "done",
        "skipped",
    ]
    assert killed["verify"].status == "running"

    second = start(env, port, log)
    try:
        wait_until(lambda: ws.request().status == "done", timeout=40)  # well under the lease
    finally:
        second.terminate()
        second.wait(timeout=10)
    final = ws.steps()
    assert all(final[n].attempts == 1 for n in ("freeze", "revert", "empty_rules"))
    assert final["verify"].attempts == 2 and final["verify"].status == "done"
    actions = ws.actions()
    assert actions.count("rollback.done") == 1
    assert actions.count("rollback.revert") == 1  # SMART_PRICING reverted once
    completes = [m for m in fake_slack.channel_messages() if "Rollback complete" in m.text]
    assert len(completes) == 1


def test_a_process_of_this_host_that_is_gone_is_known_gone() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    host = socket.gethostname()
    try:
        assert not is_gone(f"{host}:{child.pid}:abc123")  # alive
    finally:
        child.kill()
        child.wait(timeout=10)
    assert is_gone(f"{host}:{child.pid}:abc123")
    assert not is_gone(f"{host}:{os.getpid()}:abc123")  # this process
    assert not is_gone(f"elsewhere:{child.pid}:abc123")  # another host: its lease decides
    assert not is_gone("replica-a")  # a configured id: its lease decides

"""Does a Slack outage slow the rollback? The same signed rollback with Slack healthy and
with Slack hanging (every post and update carried out, its answer never in time), side by
side: second sign-off → every flag at its target, and → runbook done. The outbox's sender
runs as in `warroom serve`; the runbook writes its posts there and goes on.

    pip install -e '.[test]' && python bench/rollback_vs_slack.py [--runs 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pydantic import SecretStr  # noqa: E402

from bench.rollback_timing import PRODUCT, SRE, SUPPORT, reset  # noqa: E402
from bot.clock import SystemClock  # noqa: E402
from bot.local.fake_slack import FakeSlack  # noqa: E402
from bot.services import Services, build_services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests.sinks import HttpSink, SmtpSink  # noqa: E402
from tests.test_runbook import integrated_playbook  # noqa: E402

HANG_SECONDS = 600.0  # longer than any run: Slack never answers in time


def one_run(services: Services, run: int) -> tuple[float, float]:
    reset(services, run)
    view = services.rollback.open(SRE, ["bench", "run", str(run)])
    request_id = view.request.id or 0
    services.rollback.approve(request_id, PRODUCT)
    services.runbook.wait_idle(120)
    signed_at = services.clock.now()
    started = time.perf_counter()
    services.rollback.approve(request_id, SUPPORT)
    deadline = started + 300
    while services.rollback.view(request_id).request.status != "done":
        if time.perf_counter() > deadline:
            raise TimeoutError(f"run {run}: the runbook did not finish")
        time.sleep(0.002)
    whole = time.perf_counter() - started
    final = services.rollback.view(request_id)
    revert = next(s for s in final.steps if s.name == "revert")
    to_target = (revert.ended_at - signed_at).total_seconds()  # type: ignore[operator]
    assert all(f.percent == 10 for f in services.rollout.flags.list_flags())
    return to_target, whole


def measure(runs: int, hanging: bool) -> tuple[list[float], list[float]]:
    slack, sink, smtp = FakeSlack().start(), HttpSink().start(), SmtpSink().start()
    settings = Settings(
        slack_bot_token=SecretStr("xoxb-bench"),
        slack_api_url=slack.api_url,
        database_url=f"sqlite:///{tempfile.mkdtemp(prefix='warroom-bench-')}/rollback.db",
        jira_email="bot@example.com",
        jira_api_token=SecretStr("jira-token"),
    )
    services = build_services(settings, integrated_playbook(sink, smtp), SystemClock())
    stopping = threading.Event()
    services.poster.start(stopping)  # as `warroom serve` does
    to_target, whole = [], []
    try:
        for run in range(1, runs + 1):
            if hanging and run == 1:
                for method in ("chat.postMessage", "chat.update", "files.getUploadURLExternal"):
                    slack.hang_next(method, HANG_SECONDS, times=1_000_000)
            target, done = one_run(services, run)
            to_target.append(target)
            whole.append(done)
    finally:
        stopping.set()
        for stop in (sink.stop, smtp.stop):
            stop()
    return to_target, whole


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    healthy = measure(args.runs, hanging=False)
    hanging = measure(args.runs, hanging=True)
    print(f"rollback with Slack healthy vs hanging, {args.runs} runs each, SQLite, embedded flags")
    print(f"  {'':<40} {'healthy':>12} {'hanging':>12} {'ratio':>7}")
    for name, index in (("second sign-off → every flag at target", 0), ("→ runbook done", 1)):
        a = statistics.median(healthy[index]) * 1000
        b = statistics.median(hanging[index]) * 1000
        print(f"  {name:<40} {a:9.1f} ms {b:9.1f} ms {b / a:7.2f}")
    print("  (medians; target: hanging within 10 % of healthy)")


if __name__ == "__main__":
    main()

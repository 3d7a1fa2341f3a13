"""How fast a signed rollback takes effect, and how long the whole runbook takes.

For each run: flags at 25 % with external user rules, a rollback request, two sign-offs.
Measures (1) how long the second sign-off keeps its caller (the click's worker) waiting,
(2) from the second sign-off to every flag at its rollback target (the revert step's end),
embedded provider, and (3) from the second sign-off to the runbook done, with
every integration on loopback: cache and banner HTTP sinks, a Jira stand-in, a real SMTP
server, the loopback Slack Web API, and a trivial e2e command.

    pip install -e '.[test]' && python bench/rollback_timing.py [--runs 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pydantic import SecretStr  # noqa: E402

from bot.clock import SystemClock  # noqa: E402
from bot.local.fake_slack import FakeSlack  # noqa: E402
from bot.services import Services, build_services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests.sinks import HttpSink, SmtpSink  # noqa: E402
from tests.test_runbook import integrated_playbook  # noqa: E402

SRE, PRODUCT, SUPPORT = "U0SRE00001", "U0PROD0001", "U0SUPP0001"


def reset(services: Services, run: int) -> None:
    """Flags at 25 % with an external user rule each, the rollout not frozen."""
    if services.rollout.freeze_state().frozen:
        services.rollout.unfreeze(SRE, "bench reset")
    for flag in services.playbook.flags:
        services.rollout.set_flag(SRE, flag, "25", "internal_beta,external_beta")
        services.rollout.flags.add_user_rule(flag, "external_beta", f"customer-{run}")  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    slack, sink, smtp = FakeSlack().start(), HttpSink().start(), SmtpSink().start()
    book = integrated_playbook(sink, smtp)  # the runbook tests' loopback integrations
    settings = Settings(
        slack_bot_token=SecretStr("xoxb-bench"),
        slack_api_url=slack.api_url,
        database_url=f"sqlite:///{tempfile.mkdtemp(prefix='warroom-bench-')}/rollback.db",
        jira_email="bot@example.com",
        jira_api_token=SecretStr("jira-token"),
    )
    services = build_services(settings, book, SystemClock())
    flags = services.rollout.flags
    returned, to_target, whole = [], [], []
    for run in range(1, args.runs + 1):
        reset(services, run)
        view = services.rollback.open(SRE, ["bench", "run", str(run)])
        request_id = view.request.id or 0
        services.rollback.approve(request_id, PRODUCT)
        services.runbook.wait_idle(120)
        signed_at = services.clock.now()
        started = time.perf_counter()
        services.rollback.approve(request_id, SUPPORT)
        returned.append(time.perf_counter() - started)
        services.runbook.wait_idle(120)
        whole.append(time.perf_counter() - started)
        final = services.rollback.view(request_id)
        assert final.request.status == "done", final.request.status
        revert = next(s for s in final.steps if s.name == "revert")
        to_target.append((revert.ended_at - signed_at).total_seconds())  # type: ignore[operator]
        assert all(f.percent == 10 for f in flags.list_flags())

    def line(name: str, values: list[float]) -> str:
        ms = sorted(v * 1000 for v in values)
        p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
        return (
            f"  {name:<44} median {statistics.median(ms):7.1f} ms   p95 {p95:7.1f} ms   "
            f"max {ms[-1]:7.1f} ms"
        )

    print(
        f"rollback timing, {args.runs} runs, SQLite, embedded flag provider, "
        "integrations on loopback"
    )
    print(line("second sign-off: the caller waits", returned))
    print(line("second sign-off → every flag at target", to_target))
    print(line("second sign-off → runbook done (7 steps)", whole))
    print(
        f"  loopback calls per run: {len(sink.hits) / args.runs:.0f} HTTP, "
        f"{len(smtp.inbox.messages) / args.runs:.0f} email"
    )
    for stop in (slack.stop, sink.stop, smtp.stop):
        stop()


if __name__ == "__main__":
    main()

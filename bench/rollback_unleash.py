"""How fast a signed rollback reaches the flags services evaluate, with Unleash as the flag
provider: from the second sign-off until Unleash's client API (what a service's SDK polls)
serves every launch flag at the rollback target. A real Unleash 7.5.1 on PostgreSQL on
loopback (tests/node/unleash: `npm ci` there first). Target: median under 1 s.

    pip install -e '.[test]' && python bench/rollback_unleash.py [--runs 20]
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
from bot.services import build_services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests.rollback_support import rollback_playbook  # noqa: E402
from tests.test_flags_unleash import add_users, behind_the_back, with_unleash  # noqa: E402
from tests.unleash_server import Unleash, start, why_not  # noqa: E402
from tests.unleash_support import LAUNCH_FLAGS, reset_flags  # noqa: E402

SRE, PRODUCT, SUPPORT = "U0SRE00001", "U0PROD0001", "U0SUPP0001"


def served_at_target(server: Unleash) -> bool:
    """Every launch flag at 10 % internal_beta, as the client API serves it."""
    features = server.client_features()
    for flag in LAUNCH_FLAGS:
        ours = [s for s in features[flag]["strategies"] if s["parameters"].get("rollout") != "100"]
        segments = [c["values"] for c in ours[0]["constraints"] if c["contextName"] == "segment"]
        if ours[0]["parameters"]["rollout"] != "10" or segments != [["internal_beta"]]:
            return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    if reason := why_not():
        raise SystemExit(f"no Unleash to measure against: {reason}")
    server, slack = start(Path(tempfile.mkdtemp()) / "unleash.log"), FakeSlack().start()
    settings = Settings(
        slack_bot_token=SecretStr("xoxb-bench"),
        slack_api_url=slack.api_url,
        database_url=f"sqlite:///{tempfile.mkdtemp(prefix='warroom-bench-')}/rollback.db",
        unleash_url=server.url,
        unleash_admin_token=SecretStr(server.admin_token),
    )
    services = build_services(settings, with_unleash(rollback_playbook()), SystemClock())
    reached: list[float] = []
    try:
        for run in range(1, args.runs + 1):
            reset_flags(server, LAUNCH_FLAGS)
            for flag in LAUNCH_FLAGS:
                behind_the_back(server, flag, 25, ["internal_beta", "external_beta"])
                add_users(server, flag, "external_beta", [f"customer-{run}"])
            if services.rollout.freeze_state().frozen:
                services.rollout.unfreeze(SRE, "bench reset")
            request_id = services.rollback.open(SRE, ["bench", "run", str(run)]).request.id or 0
            services.rollback.approve(request_id, PRODUCT)
            started = time.perf_counter()
            services.rollback.approve(request_id, SUPPORT)
            while not served_at_target(server):
                time.sleep(0.005)
            reached.append(time.perf_counter() - started)
            services.runbook.wait_idle(120)
    finally:
        server.stop()
        slack.stop()
    ms = sorted(v * 1000 for v in reached)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    print(f"rollback through Unleash 7.5.1 (PostgreSQL, loopback), {args.runs} runs")
    print(
        f"  second sign-off → every flag at target, read back from Unleash's client API: "
        f"median {statistics.median(ms):.0f} ms   p95 {p95:.0f} ms   max {ms[-1]:.0f} ms"
    )


if __name__ == "__main__":
    main()

"""How far after its scheduled second each post reaches the Slack Web API, in real time,
through APScheduler; and the bot's memory after a simulated 48 h window.

Real time: a playbook whose milestones fall every 5 s from T (T = now + 5 s) and whose
first-hour snapshots fall every minute; the real scheduler runs for `--seconds`; lateness
is the loopback Slack server's receipt time minus the occurrence's fire time.
Simulated: the whole default 48 h window on a fake clock, ticked every minute like the
watchdog, then the process's resident memory.

    python bench/schedule_timing.py [--seconds 70]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pydantic import SecretStr  # noqa: E402

from bot.clock import FakeClock, SystemClock  # noqa: E402
from bot.local.fake_slack import FakeSlack  # noqa: E402
from bot.playbook import Milestone, Snapshots, load_playbook  # noqa: E402
from bot.services import build_services  # noqa: E402
from bot.settings import Settings  # noqa: E402

PRODUCT = "U0PROD0001"


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def settings(slack: FakeSlack) -> Settings:
    db = Path(tempfile.mkdtemp(prefix="warroom-bench-")) / "schedule.db"
    return Settings(
        slack_bot_token=SecretStr("xoxb-bench"),
        slack_api_url=slack.api_url,
        database_url=f"sqlite:///{db}",
    )


def real_time(seconds: float) -> None:
    slack = FakeSlack().start()
    book = load_playbook()
    offsets = [f"{s}s" for s in range(5, int(seconds) - 5, 5)]
    book = book.model_copy(
        update={
            "milestones": [Milestone(offset=o, title=f"tick {o}") for o in offsets],
            "first_hour_snapshots": Snapshots(
                every_minutes=1, for_minutes=60, metrics=["checkout_completion"]
            ),
        }
    )
    services = build_services(settings(slack), book, SystemClock())
    services.start_background()
    launch_at = SystemClock().now() + timedelta(seconds=5)
    services.rollout.launch(PRODUCT, launch_at.isoformat())
    time.sleep(seconds)
    services.stop_background()
    plan = {o.title: o.fire_at.timestamp() for o in services.schedule.plan()}
    late = []
    for call in slack.calls_to("chat.postMessage"):
        text = call.params.get("text", "")
        for title, fire_at in plan.items():
            if text.endswith(title) or f": {title}" in text or text.startswith(title):
                late.append(call.received_at - fire_at)
                break
    slack.stop()
    late = [x for x in late if x >= 0]
    print(f"real time, {seconds:.0f} s, APScheduler DateTrigger jobs: {len(late)} posts")
    if late:
        print(
            f"  fire time → Slack Web API: median {statistics.median(late) * 1000:6.1f} ms   "
            f"max {max(late) * 1000:6.1f} ms"
        )


def simulated_48h() -> None:
    slack = FakeSlack().start()
    clock = FakeClock()
    services = build_services(settings(slack), load_playbook(), clock)
    t = clock.now() + timedelta(days=2)
    services.rollout.launch(PRODUCT, t.isoformat())
    gc.collect()
    before = rss_mib()
    clock.set(t - timedelta(hours=25))
    ticks, started = 0, time.perf_counter()
    while clock.now() <= t + timedelta(hours=49):
        services.schedule.tick()
        clock.advance(timedelta(minutes=1))
        ticks += 1
    elapsed = time.perf_counter() - started
    gc.collect()
    posts = len([m for m in slack.channel_messages() if not m.thread_ts])
    print(
        f"simulated 48 h window: {ticks} watchdog ticks in {elapsed:.1f} s, {posts} posts, "
        f"{len(slack.channel_messages()) - posts} thread follow-ups"
    )
    print(f"  resident memory: {before:.1f} MiB before, {rss_mib():.1f} MiB after")
    slack.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=70)
    args = parser.parse_args()
    real_time(args.seconds)
    simulated_48h()


if __name__ == "__main__":
    main()

"""MTTD with a real Prometheus, and the cost of one evaluation round.

MTTD: an exporter's error rate jumps over the trigger's threshold; the bot evaluates every
`--interval` seconds; MTTD is from the breach (the exporter's change) to the alert posted in
the loopback Slack. Target: the trigger's `for` window plus at most one evaluation interval
(plus Prometheus's scrape interval, here 1 s, for the breach to be seen at all).
Cost: one evaluation round of 20 metric triggers against the same Prometheus.

    python bench/mttd.py [--window 5] [--interval 2] [--runs 3]
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

from bot.clock import SystemClock  # noqa: E402
from bot.local.fake_slack import FakeSlack  # noqa: E402
from bot.metrics.prometheus import PrometheusReader  # noqa: E402
from bot.playbook import Alert, EvaluationSettings, Metric, Trigger, load_playbook  # noqa: E402
from bot.services import build_services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests.prom_support import Exporter, Prometheus  # noqa: E402


def playbook(window: float, interval: int, triggers: int = 1):  # type: ignore[no-untyped-def]
    book = load_playbook()
    metrics = {**book.metrics, "error_rate": Metric(unit="%", query="warroom_test_error_rate")}
    found = [
        Trigger(
            name="error_rate_critical",
            metric="error_rate",
            op=">",
            value=4,
            **{"for": f"{int(window)}s"},
        )
    ]
    for i in range(1, triggers):
        metrics[f"m{i}"] = Metric(unit="%", query=f"warroom_test_error_rate * {i}")
        found.append(Trigger(name=f"t{i}", metric=f"m{i}", op=">", value=10_000, **{"for": "1m"}))
    return book.model_copy(
        update={
            "metrics": metrics,
            "triggers": found,
            "alerts": [Alert(metric="error_rate", direction="above", warning=1.5, critical=4)],
            "evaluation": EvaluationSettings(interval_seconds=interval),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--window", type=float, default=5)
    parser.add_argument("--interval", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    exporter, slack = Exporter(), FakeSlack().start()
    exporter.error_rate.set(0.5)
    prometheus = Prometheus(Path(tempfile.mkdtemp(prefix="warroom-prom-")), exporter.port)
    try:
        prometheus.wait_for_sample("warroom_test_error_rate")
        mttds = []
        for _ in range(args.runs):
            db = Path(tempfile.mkdtemp(prefix="warroom-bench-")) / "mttd.db"
            settings = Settings(
                slack_bot_token=SecretStr("xoxb-bench"),
                slack_api_url=slack.api_url,
                database_url=f"sqlite:///{db}",
                prometheus_url=prometheus.url,
            )
            services = build_services(settings, playbook(args.window, args.interval), SystemClock())
            stop = threading.Event()

            def loop(services=services, stop=stop) -> None:  # type: ignore[no-untyped-def]
                while not stop.wait(args.interval):
                    services.evaluator.evaluate()

            threading.Thread(target=loop, daemon=True).start()
            time.sleep(args.interval * 1.5)  # a round or two on healthy data
            seen = len(slack.calls_to("chat.postMessage"))
            breach = time.time()
            exporter.error_rate.set(6.0)
            while True:
                calls = slack.calls_to("chat.postMessage")[seen:]
                fired = [c for c in calls if "firing" in str(c.params.get("text", ""))]
                if fired:
                    mttds.append(fired[0].received_at - breach)
                    break
                if time.time() - breach > args.window + 10 * args.interval + 10:
                    raise SystemExit("the trigger never fired")
                time.sleep(0.05)
            stop.set()
            exporter.error_rate.set(0.5)
            time.sleep(2.5)  # the next run starts on healthy data
        print(
            f"MTTD with Prometheus (scrape 1 s), window {args.window:g} s, evaluation every "
            f"{args.interval} s, {args.runs} runs:"
        )
        print(
            f"  breach → alert posted: median {statistics.median(mttds):.2f} s, max "
            f"{max(mttds):.2f} s (target ≤ {args.window + args.interval:g} s + 1 s scrape)"
        )
        db = Path(tempfile.mkdtemp(prefix="warroom-bench-")) / "cost.db"
        settings = Settings(
            slack_bot_token=SecretStr("xoxb-bench"),
            slack_api_url=slack.api_url,
            database_url=f"sqlite:///{db}",
            prometheus_url=prometheus.url,
        )
        services = build_services(
            settings, playbook(args.window, args.interval, triggers=20), SystemClock()
        )
        services.evaluator.evaluate()
        rounds = []
        for _ in range(20):
            started = time.perf_counter()
            services.evaluator.evaluate()
            rounds.append(time.perf_counter() - started)
        reader: PrometheusReader = services.evaluator.reader  # type: ignore[assignment]
        assert reader is not None
        print(
            f"one evaluation round, 20 triggers (20 instant queries): median "
            f"{statistics.median(rounds) * 1000:.1f} ms, max {max(rounds) * 1000:.1f} ms"
        )
    finally:
        prometheus.stop()
        exporter.stop()
        slack.stop()


if __name__ == "__main__":
    main()

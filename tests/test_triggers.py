"""The trigger state machine, and the alerting rules checked by Prometheus's own promtool."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from bot.metrics.rules import rules_yaml
from bot.metrics.triggers import Machine, TriggerEvent, breaching, step
from bot.playbook import Trigger, load_playbook

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
FIVE_MIN = Trigger(
    name="error_rate_critical", metric="error_rate", op=">", value=4, **{"for": "5m"}
)


def run(
    samples: list[float], trigger: Trigger = FIVE_MIN, every: int = 30
) -> list[tuple[int, TriggerEvent]]:
    machine, events = Machine(), []
    for i, value in enumerate(samples):
        machine, event = step(
            machine, trigger, T0 + timedelta(seconds=i * every), breaching(trigger, value)
        )
        if event:
            events.append((i * every, event))
    return events


def test_a_breach_held_through_the_window_fires_once() -> None:
    assert run([5.0] * 12) == [(0, "pending"), (300, "fired")]


def test_one_good_sample_resets_the_window() -> None:
    samples = [5.0] * 9 + [3.9] + [5.0] * 9  # dips back at 270 s
    assert run(samples) == [(0, "pending"), (270, "reset"), (300, "pending")]


def test_recovery_resolves_and_a_new_breach_starts_over() -> None:
    samples = [5.0] * 11 + [2.0] + [5.0] * 3
    assert run(samples) == [(0, "pending"), (300, "fired"), (330, "resolved"), (360, "pending")]


def test_a_trigger_without_window_fires_on_the_first_breaching_sample() -> None:
    low = Trigger(name="checkout_completion_low", metric="checkout_completion", op="<", value=88)
    assert run([90, 87.5, 87.9, 95], low) == [(30, "fired"), (90, "resolved")]


PROMTOOL = shutil.which("promtool") or ""
needs_promtool = pytest.mark.skipif(
    not PROMTOOL,
    reason="promtool is not installed (Debian package `prometheus`; .ci/run installs it)",
)

UNIT_TESTS = {
    "rule_files": ["rules.yml"],
    "evaluation_interval": "1m",
    "tests": [
        {  # 5 % errors: warning at once, critical after its 5 minutes
            "interval": "1m",
            "input_series": [
                {
                    "series": 'http_requests_total{status="500",segment="external_beta"}',
                    "values": "0+5x30",
                },
                {
                    "series": 'http_requests_total{status="200",segment="external_beta"}',
                    "values": "0+95x30",
                },
            ],
            "alert_rule_test": [
                {"eval_time": "4m", "alertname": "warroom_error_rate_critical", "exp_alerts": []},
                {
                    "eval_time": "8m",
                    "alertname": "warroom_error_rate_critical",
                    "exp_alerts": [
                        {
                            "exp_labels": {
                                "severity": "critical",
                                "warroom_trigger": "error_rate_critical",
                            },
                            "exp_annotations": {
                                "summary": "error_rate > 4 for 5m: rollback trigger"
                            },
                        }
                    ],
                },
                {
                    "eval_time": "8m",
                    "alertname": "warroom_error_rate_warning",
                    "exp_alerts": [
                        {
                            "exp_labels": {"severity": "warning", "warroom_metric": "error_rate"},
                            "exp_annotations": {
                                "summary": "error_rate > 1.5 (warning)",
                                "value": "5",
                            },
                        }
                    ],
                },
            ],
        },
        {  # 2 % errors: warning only; 80 % checkout completion: the other trigger at once
            "interval": "1m",
            "input_series": [
                {
                    "series": 'http_requests_total{status="500",segment="external_beta"}',
                    "values": "0+2x30",
                },
                {
                    "series": 'http_requests_total{status="200",segment="external_beta"}',
                    "values": "0+98x30",
                },
                {"series": "checkout_completed_total", "values": "0+80x30"},
                {"series": "checkout_started_total", "values": "0+100x30"},
            ],
            "alert_rule_test": [
                {"eval_time": "20m", "alertname": "warroom_error_rate_critical", "exp_alerts": []},
                {
                    "eval_time": "20m",
                    "alertname": "warroom_checkout_completion_low",
                    "exp_alerts": [
                        {
                            "exp_labels": {
                                "severity": "critical",
                                "warroom_trigger": "checkout_completion_low",
                            },
                            "exp_annotations": {
                                "summary": "checkout_completion < 88 for 0s: rollback trigger"
                            },
                        }
                    ],
                },
            ],
        },
    ],
}


@pytest.mark.slow  # a process
@needs_promtool
def test_promtool_checks_and_unit_tests_the_rules(tmp_path: Path) -> None:
    generated = rules_yaml(load_playbook())
    (tmp_path / "rules.yml").write_text(generated)
    # one rule per critical trigger and per early-warning line of the playbook
    expected = sum(len(group["rules"]) for group in yaml.safe_load(generated)["groups"])
    assert expected == 5
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(UNIT_TESTS, sort_keys=False))
    check = subprocess.run(
        [PROMTOOL, "check", "rules", "rules.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"SUCCESS: {expected} rules found" in check.stdout
    test = subprocess.run(
        [PROMTOOL, "test", "rules", "tests.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert test.returncode == 0, test.stdout + test.stderr


@pytest.mark.slow  # a process
@needs_promtool
def test_promtool_would_catch_a_wrong_threshold(tmp_path: Path) -> None:
    """The unit tests can fail: with the critical threshold at 6 %, 5 % must not fire."""
    book = load_playbook()
    wrong = [
        t.model_copy(update={"value": 6.0}) if t.name == "error_rate_critical" else t
        for t in book.triggers
    ]
    (tmp_path / "rules.yml").write_text(rules_yaml(book.model_copy(update={"triggers": wrong})))
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(UNIT_TESTS, sort_keys=False))
    test = subprocess.run(
        [PROMTOOL, "test", "rules", "tests.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert test.returncode != 0

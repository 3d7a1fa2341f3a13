"""The bundled playbook carries the seed's numbers; a bad one is refused whole."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from bot.playbook import BUNDLED_PLAYBOOK, PlaybookError, load_playbook, parse_duration


def test_bundled_playbook_holds_the_seed_defaults() -> None:
    book = load_playbook()
    assert book.timezone == "Europe/Madrid"
    assert book.channels.war_room == "#phase1-war-room"
    assert book.flags == ["ADVANCED_CHECKOUT", "SMART_PRICING"]
    assert (book.rollout_target.percent, "external_beta" in book.rollout_target.segments) == (
        25,
        True,
    )
    assert (book.rollback.target.percent, book.rollback.target.segments) == (10, ["internal_beta"])
    assert book.rollback.caches == ["checkout-service", "pricing-service"]
    assert (book.alerts[0].warning, book.alerts[0].critical) == (1.5, 4)
    error_trigger = book.triggers[0]
    assert (error_trigger.metric, error_trigger.op, error_trigger.value) == ("error_rate", ">", 4)
    assert parse_duration(error_trigger.for_) == timedelta(minutes=5)
    assert [s.at for s in book.shifts] == ["09:00", "13:00", "17:00", "21:00"]
    assert (book.daily_sync.at, book.daily_sync.duration_minutes) == ("09:30", 15)
    assert (book.council.duration_minutes, book.monitoring_window_hours) == (30, 48)
    assert [m.offset for m in book.milestones] == ["-24h", "-12h", "-1h", "0h", "4h", "24h"]
    assert (book.feedback.daily_report_at, book.feedback.support_sla_hours) == ("18:00", 4)
    assert set(book.roles) == {"sre", "product", "support", "gtm", "oncall"}
    checks = {(c.metric, c.op, c.value) for c in book.rollback.verify.checks}
    assert checks == {("saga_success_rate", ">", 95), ("response_time_p95", "<", 1500)}


def _bad_playbook(tmp_path: Path) -> Path:
    data = yaml.safe_load(BUNDLED_PLAYBOOK.read_text())
    data["timezone"] = "Mars/Olympus"
    data["rollout_target"]["percent"] = 120
    data["shifts"][0]["at"] = "25:00"
    data["flags"].append("smart pricing")
    data["surprise"] = True
    path = tmp_path / "bad.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_bad_playbook_lists_every_problem_with_its_key(tmp_path: Path) -> None:
    with pytest.raises(PlaybookError) as caught:
        load_playbook(_bad_playbook(tmp_path))
    problems = caught.value.problems
    joined = "\n".join(problems)
    assert len(problems) == 5, joined
    assert "timezone = 'Mars/Olympus': expected an IANA time zone" in joined
    assert "rollout_target.percent = 120: Input should be less than or equal to 100" in joined
    assert "shifts[0].at = '25:00': expected a local time HH:MM" in joined
    assert "flags = " in joined and "UPPER_SNAKE_CASE: smart pricing" in joined
    assert "surprise = True: Extra inputs are not permitted" in joined


def test_cross_references_are_checked(tmp_path: Path) -> None:
    data = yaml.safe_load(BUNDLED_PLAYBOOK.read_text())
    data["permissions"]["rollout.set"] = ["sre", "sres"]
    data["permissions"]["rollout.explode"] = ["sre"]
    data["kpis"][0]["metric"] = "eror_rate"
    data["roles"]["sre"].append("not-an-id")
    path = tmp_path / "refs.yml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(PlaybookError) as caught:
        load_playbook(path)
    joined = "\n".join(caught.value.problems)
    assert len(caught.value.problems) == 4, joined
    assert "permissions.rollout.set[1] = 'sres': unknown role" in joined
    assert "permissions.rollout.explode: unknown action" in joined
    assert "kpis[0].metric = 'eror_rate': unknown metric" in joined
    assert "roles.sre[2] = 'not-an-id': expected a Slack user ID" in joined


def test_yaml_syntax_and_missing_file_are_reported(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("flags: [A,\n  name: x\n")
    with pytest.raises(PlaybookError, match="not valid YAML"):
        load_playbook(broken)
    with pytest.raises(PlaybookError, match="cannot read the file"):
        load_playbook(tmp_path / "absent.yml")


@pytest.mark.slow  # a process
def test_warroom_check_refuses_a_bad_playbook_and_lists_problems(tmp_path: Path) -> None:
    env = {"WARROOM_PLAYBOOK": str(_bad_playbook(tmp_path)), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "check"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert "5 problem(s)" in result.stderr
    assert "shifts[0].at" in result.stderr


@pytest.mark.slow  # a process
def test_warroom_check_says_what_is_configured(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "SLACK_BOT_TOKEN": "xoxb-secret-value-123"}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "check"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "playbook: OK (bundled default)" in result.stdout
    assert "SLACK_SIGNING_SECRET       not set" in result.stdout
    assert "SLACK_BOT_TOKEN            set" in result.stdout
    assert "PROMETHEUS_URL             not set" in result.stdout
    assert "Jira incident          not configured (the step is skipped)" in result.stdout
    assert "Phase 2 epics (Jira)   not configured (link epics: /phase2 link)" in result.stdout
    assert (
        "  Phase 2: 4 backlog items, 3 risks; lessons under adoption, risks, stability, process "
        "→ phase1-lessons.md"
    ) in result.stdout
    assert "xoxb-secret-value-123" not in result.stdout + result.stderr
    assert "ready for: local" in result.stdout


def test_phase2_and_lessons_hold_the_seed_and_refuse_what_they_cannot_use(tmp_path: Path) -> None:
    book = load_playbook()
    assert [i.feature for i in book.phase2.backlog] == [
        "LOGISTICS_TRACKING",
        "INVENTORY_MANAGEMENT",
        "SUPPLIER_INTEGRATION",
        "FULFILLMENT_OPTIMIZATION",
    ]
    assert [r.key for r in book.phase2.risks] == [
        "external_dependencies",
        "team_capacity",
        "testing",
    ]
    assert [h.key for h in book.lessons.headings] == ["adoption", "risks", "stability", "process"]
    path = tmp_path / "bad.yml"

    def problems(change: Callable[[dict], object]) -> list[str]:
        data = yaml.safe_load(BUNDLED_PLAYBOOK.read_text())
        change(data)
        path.write_text(yaml.safe_dump(data))
        with pytest.raises(PlaybookError) as caught:
            load_playbook(path)
        return caught.value.problems

    assert problems(lambda d: d["phase2"]["backlog"][0].update(complexity="huge")) == [
        "phase2.backlog[0].complexity = 'huge': Input should be 'low', 'medium' or 'high'"
    ]
    twice = problems(lambda d: d["phase2"]["backlog"].append(d["phase2"]["backlog"][1]))
    assert len(twice) == 1 and "each backlog feature must be listed once" in twice[0]

    def cross(d: dict) -> None:
        d["phase2"]["risks"][1]["owner"] = "finance"
        d["lessons"]["default_heading"] = "misc"

    assert problems(cross) == [
        "phase2.risks[1].owner = 'finance': unknown role; known: gtm, oncall, product, sre, support",
        "lessons.default_heading = 'misc': unknown heading; known: adoption, process, risks, "
        "stability",
    ]

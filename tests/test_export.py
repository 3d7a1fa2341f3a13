"""`warroom export` as a person runs it: a subprocess over the bot's SQLite file."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.services import Services
from bot.settings import Settings
from tests.conftest import SRE
from tests.test_cli_modes import _cli
from tests.test_reports import load_fixed_day, local

pytestmark = [
    pytest.mark.slow,
    pytest.mark.sqlite_only("the export is a process reading the file the services wrote"),
]


def export(settings: Settings, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": settings.database_url}
    if "PYTHONPATH" in os.environ:  # the code under test, not the installed copy
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return _cli("export", *args, env=env, cwd=tmp_path)


def test_export_feedback_decisions_checklists_and_reports(
    services: Services, settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    load_fixed_day(services, clock)
    for at in ("13:00", "17:00", "18:00"):  # shifts B and C, then the 18:00 report
        clock.set(local(f"2026-12-01 {at}"))
        made = services.schedule.tick()
        if at == "13:00":
            services.checklists.acknowledge(made[-1].id or 0, SRE)
    feedback = export(settings, tmp_path, "feedback", "--format", "csv")
    assert feedback.returncode == 0, feedback.stderr
    rows = list(csv.DictReader(io.StringIO(feedback.stdout)))
    assert len(rows) == 8 and feedback.stderr.strip() == "exported 8 feedback row(s)"
    assert rows[3]["text"] == "Checkout crashed when I paid" and rows[3]["route"] == "critical"
    assert rows[3]["created_at"] == "2026-12-01T11:05:00+01:00"
    since = export(settings, tmp_path, "feedback", "--format", "json", "--since", "2026-12-01")
    items = json.loads(since.stdout)
    assert [i["id"] for i in items] == [2, 3, 4, 5, 6, 7, 8]
    assert items[-1]["source"] == "slack" and items[-1]["link"] == "https://x.invalid/p1"
    decisions = json.loads(export(settings, tmp_path, "decisions", "--format", "json").stdout)
    assert [d["seq"] for d in decisions] == list(range(1, len(decisions) + 1))
    assert all(d["prev_hash"] == p["hash"] for p, d in zip(decisions, decisions[1:], strict=False))
    assert {"rollout.launch", "rollout.set", "rollout.freeze"} <= {d["action"] for d in decisions}
    checklists = list(csv.DictReader(io.StringIO(export(settings, tmp_path, "checklists").stdout)))
    assert [c["shift"] for c in checklists] == ["SRE shift B", "SRE shift C"]
    assert [c["acknowledged_by"] for c in checklists] == [SRE, ""]
    assert checklists[0]["posted_for"] == "2026-12-01T13:00:00+01:00"
    out = tmp_path / "reports.md"
    reports = export(settings, tmp_path, "reports", "--format", "md", "--out", str(out))
    assert reports.returncode == 0 and reports.stdout == ""
    assert out.read_text().startswith("# Daily report — Tue 01 Dec 2026\n")


def test_export_refuses_what_it_cannot_do_with_a_listed_error(
    settings: Settings, tmp_path: Path
) -> None:
    md = export(settings, tmp_path, "feedback", "--format", "md")
    assert md.returncode == 2
    assert (
        "--format md is for `reports` and `lessons` only; export feedback as csv or json"
        in md.stderr
    )
    since = export(settings, tmp_path, "decisions", "--since", "last tuesday")
    assert since.returncode == 2 and "`last tuesday` is not a time I can read" in since.stderr
    unknown = export(settings, tmp_path, "everything")
    assert unknown.returncode == 2 and "invalid choice: 'everything'" in unknown.stderr


def _many_rows(db_url: str, count: int = 600) -> None:
    """Enough rows of every kind that each export is far larger than a pipe's buffer (64 KiB),
    so the writer is still writing when the reader leaves."""
    from datetime import UTC, datetime, timedelta

    from sqlmodel import Session

    from storage import migrate
    from storage.db import make_engine
    from storage.models import (
        ChecklistState,
        DecisionRecord,
        FeedbackItem,
        Report,
        ScheduledRun,
        Ticket,
    )

    engine = make_engine(db_url)
    migrate.upgrade(engine)
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    words = "checkout was slow and then the smart price changed twice " * 4
    with Session(engine) as session:
        for i in range(count):
            at = start + timedelta(minutes=i)
            session.add(
                FeedbackItem(
                    source="widget", category="bug", route="critical", classified_by="rules",
                    text=f"{i} {words}", created_at=at,
                )
            )  # fmt: skip
            session.add(
                DecisionRecord(
                    seq=i + 1, at=at, actor="U0SRE00001", action="rollout.set",
                    subject="SMART_PRICING", reason=words, prev_hash="0" * 64, hash="1" * 64,
                )
            )  # fmt: skip
            session.add(Ticket(external_id=f"T-{i}", subject=words, created_at=at))
            session.add(Report(kind="daily", period=f"day {i}", created_at=at, markdown=words))
            run = ScheduledRun(
                job_key=f"shift:{i}", kind="shift", fire_at=at, status="posted", claimed_at=at
            )
            session.add(run)
            session.flush()
            assert run.id is not None
            session.add(ChecklistState(run_id=run.id, shift=f"shift {i}", items=[words] * 3))
        session.commit()


def test_export_into_a_reader_that_leaves_early_ends_cleanly(db_url: str, tmp_path: Path) -> None:
    """`warroom export KIND | head -3`: the reader closes the pipe mid-export; the export
    stops without a traceback, for every kind and format."""
    import subprocess
    import sys

    _many_rows(db_url)
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": db_url}
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    # every kind once and every format once (each case is a process start)
    cases = [
        ("feedback", "csv"),
        ("decisions", "json"),
        ("checklists", "csv"),
        ("tickets", "json"),
        ("reports", "md"),
    ]
    for kind, fmt in cases:
        writer = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "export", kind, "--format", fmt],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=tmp_path,
        )
        assert writer.stdout is not None and writer.stderr is not None
        head = subprocess.run(
            ["head", "-3"], stdin=writer.stdout, capture_output=True, text=True, timeout=60
        )
        writer.stdout.close()  # only `head` holds the pipe's read end; it has left
        errors = writer.stderr.read().decode()
        writer.stderr.close()
        assert writer.wait(timeout=60) == 0, (kind, fmt, errors)
        assert len(head.stdout.splitlines()) == 3, (kind, fmt)
        assert "Traceback" not in errors and "BrokenPipe" not in errors, (kind, fmt, errors)

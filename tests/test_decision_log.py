"""The decision log: appended, chained, verified; refused changes; several writers."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError

from bot import decision_log
from bot.decision_log import Decision
from storage import migrate
from storage.db import make_engine

AT = datetime(2026, 12, 1, 9, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
def engine(db_url: str) -> Engine:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    return engine


def _fill(engine: Engine, n: int) -> None:
    for i in range(n):
        decision_log.append(
            engine,
            Decision(
                actor="U0SRE00001",
                action="rollout.set",
                subject="SMART_PRICING",
                before={"percent": i},
                after={"percent": i + 1},
                reason=f"step {i}",
                evidence={"error_rate": 0.4},
            ),
            AT,
        )


def test_records_chain_and_verify(engine: Engine) -> None:
    _fill(engine, 5)
    records = decision_log.recent(engine, 10)
    assert [r.seq for r in records] == [5, 4, 3, 2, 1]
    assert records[-1].prev_hash == decision_log.GENESIS
    assert records[0].prev_hash == records[1].hash
    assert records[0].at == AT  # microseconds and zone survive the round trip
    assert decision_log.verify(engine).ok


def test_database_refuses_update_and_delete(engine: Engine) -> None:
    _fill(engine, 2)
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as connection:
        connection.execute(text("UPDATE decision_log SET reason = 'edited' WHERE seq = 1"))
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as connection:
        connection.execute(text("DELETE FROM decision_log WHERE seq = 2"))
    assert decision_log.verify(engine).ok


def _tamper(engine: Engine, sql: str) -> None:
    """Someone with raw access drops the guard and edits history."""
    guard = {
        "sqlite": "DROP TRIGGER decision_log_no_update",
        "postgresql": "DROP TRIGGER decision_log_append_only ON decision_log",
    }[engine.dialect.name]
    with engine.begin() as connection:
        connection.execute(text(guard))
        connection.execute(text(sql))


def test_verify_names_the_first_broken_record(engine: Engine) -> None:
    _fill(engine, 6)
    _tamper(engine, "UPDATE decision_log SET reason = 'nothing to see' WHERE seq = 3")
    report = decision_log.verify(engine)
    assert (report.ok, report.first_broken_seq) == (False, 3)
    assert "content does not match its hash" in report.problem


@pytest.mark.slow  # a process
def test_audit_verify_cli(engine: Engine, db_url: str, tmp_path: Path) -> None:
    _fill(engine, 3)
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": db_url}
    ok = subprocess.run(
        [sys.executable, "-m", "bot.cli", "audit", "verify"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert ok.returncode == 0 and "3 records, chain intact" in ok.stdout
    _tamper(engine, "UPDATE decision_log SET actor = 'U0INTRUDER' WHERE seq = 2")
    broken = subprocess.run(
        [sys.executable, "-m", "bot.cli", "audit", "verify"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert broken.returncode == 1 and "BROKEN at record #2" in broken.stderr


def _concurrent_appends(engines: list[Engine], per_writer: int) -> None:
    def writer(i: int) -> None:
        engine = engines[i % len(engines)]
        for j in range(per_writer):
            decision_log.append(
                engine, Decision(actor=f"U0W{i:07d}", action="test.append", subject=str(j)), AT
            )

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(writer, range(6)))


def test_concurrent_writers_on_sqlite_keep_one_chain(engine: Engine, db_url: str) -> None:
    engines = [engine, make_engine(db_url), make_engine(db_url)]  # three processes' pools
    _concurrent_appends(engines, 10)
    report = decision_log.verify(engine)
    assert report.ok and report.records == 60


@pytest.fixture
def pg_engines(pg_url: str) -> Iterator[list[Engine]]:
    engines = [make_engine(pg_url) for _ in range(3)]  # three replicas
    migrate.upgrade(engines[0])
    yield engines
    for e in engines:
        e.dispose()


def test_postgresql_replicas_keep_one_chain_and_refuse_edits(pg_engines: list[Engine]) -> None:
    _concurrent_appends(pg_engines, 10)
    report = decision_log.verify(pg_engines[1])
    assert report.ok and report.records == 60
    assert decision_log.recent(pg_engines[2], 1)[0].at.tzinfo is not None
    with pytest.raises(DatabaseError, match="append-only"), pg_engines[0].begin() as c:
        c.execute(text("DELETE FROM decision_log"))

"""Feedback ingest and the daily report at scale.

1. Sustained `POST /api/feedback` from concurrent clients into `warroom serve` on the
   default SQLite (a `warroom.db` file in the server's working directory); prints items/s
   and checks that the number stored equals the number accepted (201), and that every
   item was routed to Slack afterwards (individually or in a digest).
   Target: at least 1,000 items/s on 2 cores, zero lost.
2. The daily report's figures and Markdown over 1,000,000 feedback rows in one day.
   Target: under 2 s.

    python bench/feedback_ingest.py [--seconds 10] [--clients 32] [--rows 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import fake_slack_server  # noqa: E402
from bench.ack_latency import cpu_seconds, free_port, wait_up  # noqa: E402

TOKEN = "bench-feedback-token"
TEXTS = [
    "Checkout crashed when I paid",
    "Please add Apple Pay",
    "How do I turn smart prices off?",
    "Love the new checkout",
    "The price changed while I was paying",
]


async def drive(url: str, clients: int, seconds: float) -> tuple[int, int, int]:
    """Returns (accepted 201, duplicates 200, other answers). aiohttp, not httpx: the load
    generator shares the 2 cores with the server and must cost as little as it can."""
    accepted = duplicates = other = 0
    stop_at = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {TOKEN}"}
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def client(i: int) -> None:
            nonlocal accepted, duplicates, other
            n = 0
            while time.perf_counter() < stop_at:
                n += 1
                body = {
                    "source": "widget" if n % 3 else "survey",
                    "rating": 1 + (n + i) % 5,
                    "text": TEXTS[(n + i) % len(TEXTS)],
                    "user_id": f"c-{i}-{n}",
                    "flag": "ADVANCED_CHECKOUT",
                    "idempotency_key": f"{i}-{n}-{uuid.uuid4().hex[:8]}",
                }
                try:
                    async with http.post(
                        f"{url}/api/feedback", json=body, headers=headers
                    ) as response:
                        await response.read()
                        status = response.status
                except aiohttp.ClientError:
                    other += 1  # not accepted: a real client would retry with the same key
                    continue
                if status == 201:
                    accepted += 1
                elif status == 200:
                    duplicates += 1
                else:
                    other += 1

        await asyncio.gather(*(client(i) for i in range(clients)))
    return accepted, duplicates, other


def count(db: Path, where: str = "") -> int:
    with sqlite3.connect(db) as connection:
        return connection.execute(f"SELECT count(*) FROM feedback_item {where}").fetchone()[0]


def ingest(args: argparse.Namespace) -> None:
    fake, fake_url = fake_slack_server.start()
    workdir = Path(tempfile.mkdtemp(prefix="warroom-bench-"))
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},  # the default SQLite
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": "bench-secret",
        "SLACK_API_URL": f"{fake_url}/api/",
        "WARROOM_FEEDBACK_TOKEN": TOKEN,
        "WARROOM_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)],
        env=env,
        cwd=workdir,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_up(f"{url}/api/feedback", server)  # any answer (here 401) means it is up
        asyncio.run(drive(url, args.clients, 1))  # warm up (these items are counted too)
        before = count(workdir / "warroom.db")
        cpu_before = cpu_seconds(server.pid)
        started = time.perf_counter()
        accepted, duplicates, other = asyncio.run(drive(url, args.clients, args.seconds))
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds(server.pid) - cpu_before
        stored = count(workdir / "warroom.db") - before
        deadline = time.monotonic() + 60
        while (
            count(workdir / "warroom.db", "WHERE routed_at IS NULL") and time.monotonic() < deadline
        ):
            time.sleep(0.2)
        pending = count(workdir / "warroom.db", "WHERE routed_at IS NULL")
        print(
            f"ingest: {args.clients} clients, {args.seconds:g} s, default SQLite, "
            f"{os.cpu_count()} cores"
        )
        print(
            f"  accepted {accepted}  ({accepted / elapsed:,.0f} items/s)  stored {stored}  "
            f"lost {accepted - stored}  duplicates {duplicates}  errors {other}"
        )
        print(f"  server CPU {cpu * 1000 / max(accepted, 1):.2f} ms/item; not yet routed {pending}")
        if server.poll() is not None:
            print(f"  the server exited: {server.stderr.read()[-2000:]}")  # type: ignore[union-attr]
    finally:
        for proc in (server, fake):
            proc.terminate()
            proc.wait(timeout=10)


def stamp(at: datetime) -> str:
    """As SQLAlchemy stores a UTC datetime in SQLite."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def report(args: argparse.Namespace) -> None:
    from bot.cadence.plan import local_instant
    from bot.feedback_input import ROUTE_OF_CATEGORY, Category
    from bot.playbook import load_playbook
    from bot.reports import render
    from bot.reports.figures import collect
    from storage import migrate
    from storage.db import make_engine

    book = load_playbook()
    workdir = Path(tempfile.mkdtemp(prefix="warroom-bench-report-"))
    engine = make_engine(f"sqlite:///{workdir / 'warroom.db'}")
    migrate.upgrade(engine)
    day = datetime(2026, 12, 1).date()
    start = local_instant(day, datetime.min.time(), book.zone)
    end = start + timedelta(hours=18)
    rng = random.Random(7)
    span = int((end - start).total_seconds())
    made = time.perf_counter()
    categories = list(Category)
    rows = (
        (
            "widget" if i % 3 else "survey",
            "",
            "ADVANCED_CHECKOUT",
            1 + rng.randrange(5),
            categories[i % len(categories)].value,
            ROUTE_OF_CATEGORY[categories[i % len(categories)]].value,
            "form",
            TEXTS[i % len(TEXTS)],
            stamp(start + timedelta(seconds=rng.randrange(span))),
            "#phase1-product",
            "",
            "",
            stamp(start + timedelta(seconds=1)),
        )
        for i in range(args.rows)
    )
    with sqlite3.connect(workdir / "warroom.db") as connection:
        connection.executemany(
            "INSERT INTO feedback_item (source, user_id, flag, rating, category, route, "
            "classified_by, text, created_at, channel, message_ts, link, routed_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
    print(
        f"report: {args.rows:,} feedback rows in one day (made in {time.perf_counter() - made:.1f} s)"
    )
    timings = []
    for _ in range(3):
        engine.dispose()  # each run starts cold: no pooled connection, no statement cache
        t0 = time.perf_counter()
        figures = collect(engine, book, None, "Daily report", start, end)
        markdown = render.markdown(figures, book.zone)
        timings.append(time.perf_counter() - t0)
    assert figures.feedback.count == args.rows, figures.feedback.count
    print(
        f"  figures + Markdown: best {min(timings):.2f} s, worst {max(timings):.2f} s "
        f"(count {figures.feedback.count:,}, average {figures.feedback.average:.3f}, "
        f"{len(markdown)} characters)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--only", choices=["ingest", "report"])
    args = parser.parse_args()
    if args.only != "report":
        ingest(args)
    if args.only != "ingest":
        report(args)


if __name__ == "__main__":
    main()

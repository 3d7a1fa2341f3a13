"""One scheduler replica in a process of its own, for the several-replica test: it ticks a
fake clock through a window, claiming and posting like the watchdog.

    python -m tests.replica_ticker DATABASE_URL SLACK_API_URL START_ISO END_ISO NAME BARRIER

BARRIER is a folder shared by the three replicas. They tick in lockstep: before each step
every replica leaves a file in the step's subfolder and waits for the other two, so all three
really compete for every occurrence however unevenly the processes are scheduled. When done,
the replica writes `NAME.json`: the occurrences it saw come due and the ones it made.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import SecretStr

from bot.clock import FakeClock
from bot.playbook import load_playbook
from bot.services import build_services
from bot.settings import Settings

REPLICAS = 3
STEP = timedelta(minutes=10)


def wait_for_all(folder: Path, name: str, deadline: float) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).touch()
    while sum(1 for _ in folder.iterdir()) < REPLICAS:
        if time.monotonic() > deadline:
            raise SystemExit(f"{name}: the other replicas never reached {folder.name}")
        time.sleep(0.001)


def main(database_url: str, api_url: str, start: str, end: str, name: str, barrier: str) -> None:
    clock = FakeClock(datetime.fromisoformat(start))
    settings = Settings(
        slack_bot_token=SecretStr("xoxb-replica"),
        slack_api_url=api_url,
        database_url=database_url,
        warroom_replica_id=name,
    )
    services = build_services(settings, load_playbook(), clock, upgrade_db=False)
    stop = datetime.fromisoformat(end)
    folder = Path(barrier)
    deadline = time.monotonic() + 150
    made: list[tuple[str, str]] = []
    step = 0
    while clock.now() <= stop:
        wait_for_all(folder / f"step-{step}", name, deadline)
        made += [(r.job_key, r.fire_at.isoformat()) for r in services.schedule.tick()]
        clock.advance(STEP)
        step += 1
    due = [(o.key, o.fire_at.isoformat()) for o in services.schedule.plan() if o.fire_at <= stop]
    (folder / f"{name}.json").write_text(json.dumps({"due": due, "made": made}))


if __name__ == "__main__":
    main(*sys.argv[1:7])

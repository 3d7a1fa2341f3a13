"""One scheduler replica in a process of its own, for the several-replica test: it ticks a
fake clock through a window as fast as it can, claiming and posting like the watchdog.

    python -m tests.replica_ticker DATABASE_URL SLACK_API_URL START_ISO END_ISO NAME BARRIER

BARRIER is a folder: each replica leaves a file there once it is ready and starts ticking
when all three are, so that they really tick at the same time however slowly they start.
"""

from __future__ import annotations

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


def main(database_url: str, api_url: str, start: str, end: str, name: str, barrier: str) -> None:
    clock = FakeClock(datetime.fromisoformat(start))
    settings = Settings(
        slack_bot_token=SecretStr("xoxb-replica"), slack_api_url=api_url, database_url=database_url
    )
    services = build_services(settings, load_playbook(), clock, upgrade_db=False)
    services.schedule.owner = name
    stop = datetime.fromisoformat(end)
    folder = Path(barrier)
    (folder / f"ready-{name}").touch()
    deadline = time.monotonic() + 120
    while len(list(folder.glob("ready-*"))) < REPLICAS and time.monotonic() < deadline:
        time.sleep(0.05)
    while clock.now() <= stop:
        services.schedule.tick()
        clock.advance(timedelta(minutes=10))


if __name__ == "__main__":
    main(*sys.argv[1:7])

"""One scheduler replica in a process of its own, for the several-replica test: it ticks a
fake clock through a window as fast as it can, claiming and posting like the watchdog.

    python -m tests.replica_ticker DATABASE_URL SLACK_API_URL START_ISO END_ISO NAME GO_AT

GO_AT (a Unix time) lines the replicas up, so that they really tick at the same time.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta

from pydantic import SecretStr

from bot.clock import FakeClock
from bot.playbook import load_playbook
from bot.services import build_services
from bot.settings import Settings


def main(database_url: str, api_url: str, start: str, end: str, name: str, go_at: str) -> None:
    clock = FakeClock(datetime.fromisoformat(start))
    settings = Settings(
        slack_bot_token=SecretStr("xoxb-replica"), slack_api_url=api_url, database_url=database_url
    )
    services = build_services(settings, load_playbook(), clock, upgrade_db=False)
    services.schedule.owner = name
    stop = datetime.fromisoformat(end)
    time.sleep(max(0.0, float(go_at) - time.time()))
    while clock.now() <= stop:
        services.schedule.tick()
        clock.advance(timedelta(minutes=10))


if __name__ == "__main__":
    main(*sys.argv[1:7])

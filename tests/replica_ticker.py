"""One scheduler replica in a process of its own, for the several-replica test: it ticks a
fake clock through a window, claiming and posting like the watchdog. The test starts three
with `multiprocessing` (see `main`).

The replicas tick in lockstep: before each step every replica waits on a barrier shared by
all three (a blocking wait: none spins while another one ticks), so all three really compete
for every occurrence however unevenly the processes are scheduled. When done, the replica
writes `NAME.json` into the report folder: the occurrences it saw come due and the ones it
made.

The steps: each post's exact time, then every STEP for FOLLOW_UP after it, and the window's
ends. The playbook's follow-ups of a post (a checklist's reminder at 15 min and escalation
at 30, a communication's at 15 and 60) each fall on a step, at their exact time; the hours
where nothing is due or following up are skipped (90 steps for the test's 74 h window, where
a step every 10 minutes made 445). Every replica computes the same steps from the plan
before the first barrier, so none has ticked yet.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from pydantic import SecretStr

from bot.cadence.plan import Occurrence
from bot.clock import FakeClock
from bot.playbook import load_playbook
from bot.services import build_services
from bot.settings import Settings

STEP = timedelta(minutes=15)
FOLLOW_UP = timedelta(minutes=60)
BARRIER_TIMEOUT = 60  # seconds: a replica that died breaks the barrier for the others


class Barrier(Protocol):
    def wait(self, timeout: float | None = None) -> int: ...


def steps(plan: list[Occurrence], start: datetime, stop: datetime) -> list[datetime]:
    times = {start, stop}
    for occurrence in plan:
        at = occurrence.fire_at
        while at <= min(stop, occurrence.fire_at + FOLLOW_UP):
            if at >= start:
                times.add(at)
            at += STEP
    return sorted(times)


def main(
    database_url: str,
    api_url: str,
    start: str,
    end: str,
    name: str,
    reports: str,
    barrier: Barrier,
) -> None:
    clock = FakeClock(datetime.fromisoformat(start))
    settings = Settings(
        slack_bot_token=SecretStr("xoxb-replica"),
        slack_api_url=api_url,
        database_url=database_url,
        warroom_replica_id=name,
    )
    services = build_services(settings, load_playbook(), clock, upgrade_db=False)
    stop = datetime.fromisoformat(end)
    made: list[tuple[str, str]] = []
    for at in steps(services.schedule.plan(), clock.now(), stop):
        barrier.wait(BARRIER_TIMEOUT)
        clock.set(at)
        made += [(r.job_key, r.fire_at.isoformat()) for r in services.schedule.tick()]
    due = [(o.key, o.fire_at.isoformat()) for o in services.schedule.plan() if o.fire_at <= stop]
    (Path(reports) / f"{name}.json").write_text(json.dumps({"due": due, "made": made}))

"""What every service is built from: settings, playbook, clock, engine, clients, poster,
authorizer, and the background that moves the schedule."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from bot.authz import Authorizer
from bot.clock import Clock
from bot.metrics.prometheus import PrometheusReader
from bot.observability import BotMetrics
from bot.playbook import Playbook
from bot.replica import replica_id
from bot.settings import Settings
from bot.slack_out.clients import sync_client
from bot.slack_out.outbox import Outbox
from bot.slack_out.poster import SlackTransport
from bot.slack_out.usergroups import UserGroupResolver
from schedules.jobs import WarroomScheduler
from storage import migrate
from storage.db import make_engine


class Background:
    """What a running bot does beside answering Slack; built first, so the services that
    move the schedule (a new launch time) can be handed `resync` at construction."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.scheduler: WarroomScheduler | None = None

    def resync(self) -> None:
        """A new launch time T moves every scheduled post."""
        if self.scheduler:
            self.scheduler.sync()


@dataclass(frozen=True)
class Base:
    """What every service is built from."""

    settings: Settings
    playbook: Playbook
    clock: Clock
    engine: Engine
    replica: str
    metrics: BotMetrics
    poster: Outbox
    authz: Authorizer
    reader: PrometheusReader | None
    background: Background


def base(settings: Settings, playbook: Playbook, clock: Clock, upgrade_db: bool) -> Base:
    engine = make_engine(settings.database_url)
    if upgrade_db:
        migrate.upgrade(engine)
    metrics = BotMetrics()
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    web = sync_client(token, settings.api_url, metrics)
    prometheus_token = settings.prometheus_token
    reader = (
        PrometheusReader(
            settings.prometheus_url,
            playbook,
            prometheus_token.get_secret_value() if prometheus_token else None,
        )
        if settings.prometheus_url
        else None
    )
    replica = replica_id(settings.warroom_replica_id)
    outbound = SlackTransport(sync_client(token, settings.api_url, metrics, rate_limits_only=True))
    return Base(
        settings=settings,
        playbook=playbook,
        clock=clock,
        engine=engine,
        replica=replica,
        metrics=metrics,
        poster=Outbox(engine, outbound, clock, replica),
        authz=Authorizer(playbook, UserGroupResolver(web), clock),
        reader=reader,
        background=Background(),
    )

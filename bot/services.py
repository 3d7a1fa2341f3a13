"""Wiring: settings + playbook → engine, clients, poster, authorizer and services."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from bot.authz import Authorizer
from bot.clock import Clock, SystemClock
from bot.flags.embedded import EmbeddedFlagProvider
from bot.observability import BotMetrics
from bot.playbook import Playbook, load_playbook
from bot.rollout import RolloutService
from bot.settings import Settings
from bot.slack_out.clients import sync_client
from bot.slack_out.poster import Poster, WarRoomAnnouncer
from bot.slack_out.usergroups import UserGroupResolver
from storage import migrate
from storage.db import make_engine


@dataclass
class Services:
    settings: Settings
    playbook: Playbook
    clock: Clock
    engine: Engine
    metrics: BotMetrics
    poster: Poster
    authz: Authorizer
    rollout: RolloutService


def build_services(
    settings: Settings,
    playbook: Playbook | None = None,
    clock: Clock | None = None,
    upgrade_db: bool = True,
) -> Services:
    playbook = playbook or load_playbook(settings.warroom_playbook)
    clock = clock or SystemClock()
    engine = make_engine(settings.database_url)
    if upgrade_db:
        migrate.upgrade(engine)
    metrics = BotMetrics()
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    web = sync_client(token, settings.api_url, metrics)
    poster = Poster(web)
    authz = Authorizer(playbook, UserGroupResolver(web), clock)
    announcer = WarRoomAnnouncer(poster, playbook.channels.war_room, playbook.zone)
    flags = EmbeddedFlagProvider(engine, clock)
    rollout = RolloutService(engine, playbook, flags, authz, clock, announcer)
    rollout.seed_flags()
    return Services(settings, playbook, clock, engine, metrics, poster, authz, rollout)

"""Shared fixtures: a fake clock, a real SQLite file, the loopback Slack Web API server,
and the real app served over a real socket by uvicorn."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import httpx2
import psycopg
import pytest
import uvicorn
from pydantic import SecretStr
from starlette.testclient import TestClient

from bot.app import build_asgi
from bot.clock import FakeClock
from bot.local import payloads
from bot.local.fake_slack import FakeSlack, Message
from bot.playbook import Playbook, load_playbook
from bot.services import Services, build_services
from bot.settings import Settings
from storage import migrate
from storage.db import make_engine

TOKEN = "xoxb-test-token-1234567890-abcdefghij"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"

SRE, SRE2 = "U0SRE00001", "U0SRE00002"
PRODUCT, SUPPORT, GTM, ONCALL = "U0PROD0001", "U0SUPP0001", "U0GTM00001", "U0ONCL0001"
OUTSIDER = "U0NOBODY01"

# Starlette's TestClient is an httpx2.Client (httpx's fork), a served socket's an httpx.Client:
# one interface, two classes
HttpClient = httpx.Client | httpx2.Client
HttpResponse = httpx.Response | httpx2.Response


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))


@pytest.fixture
def playbook() -> Playbook:
    return load_playbook()


@pytest.fixture(scope="session")
def _slack_server() -> Iterator[FakeSlack]:
    """One loopback Slack Web API server for the whole session (per xdist worker)."""
    fake = FakeSlack().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_slack(_slack_server: FakeSlack) -> FakeSlack:
    """The session's loopback Slack, emptied: no call, message, fault or view of an earlier
    test is seen."""
    return _slack_server.reset()


PG_ADMIN_URL = os.environ.get("WARROOM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
DATABASES = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that takes `db_url` runs on SQLite and on PostgreSQL; a test marked
    `sqlite_only` (its point is not storage: an external client, a process) runs once."""
    chosen = any(
        "db_url" in str(mark.args[0]) for mark in metafunc.definition.iter_markers("parametrize")
    )  # a test that names its database itself keeps its choice
    if "db_url" in metafunc.fixturenames and not chosen:
        only = metafunc.definition.get_closest_marker("sqlite_only")
        metafunc.parametrize("db_url", ["sqlite"] if only else DATABASES, indirect=True)


def _pg_admin() -> psycopg.Connection:
    try:
        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {str(exc).splitlines()[0]}")


def _pg_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def _unique(prefix: str) -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"{prefix}_{worker}_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once per worker)."""
    path = tmp_path_factory.mktemp("template") / "warroom.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with engine.connect() as connection:  # one file to copy: the WAL folded in
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def _pg_database() -> Iterator[str]:
    """This worker's migrated PostgreSQL database, emptied before each test that uses it
    (creating one per test costs a checkpoint each: ~1 s under load, against ~20 ms)."""
    admin = _pg_admin()
    name = _unique("warroom_worker")
    admin.execute(f'CREATE DATABASE "{name}"')
    # commits need not wait for the disk here: what the tests read is the same, only a crash
    # of the server could lose the last commits of a test database
    admin.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    engine = make_engine(_pg_url(name))
    migrate.upgrade(engine)
    engine.dispose()
    yield _pg_url(name)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


# What a test could change besides rows (a tamper test drops the decision log's trigger):
# compared before each test; a database that differs is migrated anew.
_SCHEMA = (
    "SELECT (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal),"
    " (SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'),"
    " (SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public'),"
    " (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
    "  WHERE n.nspname = 'public')"
)
_MIGRATED: dict[str, object] = {}


def _empty_pg(url: str) -> None:
    """As freshly migrated: no other connection left (a thread of the last test writing
    late would fail, not leak into this one), every row gone, every id counting from 1."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        schema = connection.execute(_SCHEMA).fetchone()
        if _MIGRATED.setdefault(url, schema) != schema:
            connection.execute("DROP SCHEMA public CASCADE")
            connection.execute("CREATE SCHEMA public")
            engine = make_engine(url)
            migrate.upgrade(engine)
            engine.dispose()
            return
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT tablename FROM pg_tables "
                "WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            )
        ]
        sequences = [
            row[0]
            for row in connection.execute(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"
            )
        ]
        with connection.transaction():
            # the decision log's append-only trigger and the foreign keys stand aside
            connection.execute("SET LOCAL session_replication_role = replica")
            for table in tables:
                connection.execute(f'DELETE FROM "{table}"')
            for sequence in sequences:
                connection.execute(f"SELECT setval('\"{sequence}\"', 1, false)")


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database of the test's own, SQLite or PostgreSQL (the parameter)."""
    if getattr(request, "param", "sqlite") == "sqlite":
        path = tmp_path / "warroom.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("_pg_database")
    _empty_pg(url)
    return url


@pytest.fixture(params=DATABASES)
def blank_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database, SQLite or PostgreSQL: for the tests of the migrations themselves."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'blank.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (replicas migrate it themselves)."""
    admin = _pg_admin()
    name = _unique("warroom_test")
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _pg_url(name)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def settings(db_url: str, fake_slack: FakeSlack) -> Settings:
    return Settings(
        slack_bot_token=SecretStr(TOKEN),
        slack_signing_secret=SecretStr(SECRET),
        slack_api_url=fake_slack.api_url,
        database_url=db_url,
    )


@pytest.fixture
def services(settings: Settings, playbook: Playbook, clock: FakeClock) -> Iterator[Services]:
    built = build_services(settings, playbook, clock)
    yield built
    built.engine.dispose()  # its connections go before the database does


@dataclass
class LiveBot:
    """The real app on a real socket, and a way to send it signed Slack requests."""

    url: str
    services: Services
    fake: FakeSlack
    http: HttpClient  # a TestClient in process, or a client of the served socket

    def post(
        self,
        body: str,
        content_type: str = "application/x-www-form-urlencoded",
        secret: str = SECRET,
        timestamp: int | None = None,
        extra: dict[str, str] | None = None,
    ) -> HttpResponse:
        headers = payloads.signed_headers(secret, body, timestamp, content_type)
        headers.update(extra or {})
        return self.http.post(f"{self.url}/slack/events", content=body, headers=headers)

    def command(self, text: str, user: str = SRE, command: str = "/rollout") -> HttpResponse:
        channel = self.services.playbook.channels.war_room
        response_url = self.fake.response_url(channel, user)
        return self.post(payloads.slash_command(command, text, user, channel, response_url))

    def ephemeral_after(self, count: int, user: str = SRE, timeout: float = 5) -> Message:
        """Wait for the user's (count+1)-th ephemeral reply and return it."""
        return self.fake.wait_for(
            lambda f: len(f.ephemerals(user)) > count and f.ephemerals(user)[count], timeout
        )


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def in_process(
    services: Services, fake: FakeSlack, host: str = "warroom.test"
) -> Iterator[LiveBot]:
    """The real ASGI app (signature check, delivery log, Bolt, every route) in process:
    requests go through Starlette's TestClient, whose event loop lives as long as the
    context, so what the app starts after acking runs to its end as under a server."""
    with TestClient(
        build_asgi(services), base_url=f"http://{host}", raise_server_exceptions=False
    ) as http:
        yield LiveBot(str(http.base_url).rstrip("/"), services, fake, http)


@pytest.fixture
def live_bot(services: Services, fake_slack: FakeSlack) -> Iterator[LiveBot]:
    with in_process(services, fake_slack) as bot:
        yield bot


@pytest.fixture
def served_bot(services: Services, fake_slack: FakeSlack) -> Iterator[LiveBot]:
    """The same app served by uvicorn on a loopback socket: for what only a socket shows
    (a peer process or server calling it, raw HTTP, connection limits)."""
    web = build_asgi(services)
    sock = free_socket()
    server = uvicorn.Server(
        uvicorn.Config(web, log_level="warning", lifespan="off", access_log=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    host, port = sock.getsockname()
    with httpx.Client(timeout=10) as http:
        yield LiveBot(f"http://{host}:{port}", services, fake_slack, http)
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()

"""Engine and sessions. SQLite gets WAL, a busy timeout and foreign keys on every connection."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

SQLITE_BUSY_TIMEOUT_MS = 5000
# SQLite has one writer at a time. Threads of this process queue for it on a lock, which
# wakes the next one at once; left to SQLite's busy handler they would sleep in growing
# steps (1, 2, 5 … 100 ms) and a burst of writers would crawl. Other processes still meet
# the busy timeout.
_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(database_url: str) -> Engine:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(
            database_url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        _WRITE_LOCKS[engine] = threading.RLock()
        return engine
    if url.drivername == "postgresql":
        # psycopg 3 is installed with the bot; a bare postgresql:// would ask for psycopg2.
        url = url.set(drivername="postgresql+psycopg")
    return create_engine(url, pool_pre_ping=True)


_OPEN = threading.local()  # engine → the write session this thread has open on it


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One write transaction: committed on success, rolled back on any error. Opened while
    the same thread already has one on this engine, it joins that one as a savepoint (a
    second SQLite writer would wait for the first forever, and the outer transaction means
    all of it or none: a flag write inside the freeze check's transaction)."""
    open_sessions: dict[int, Session] = _OPEN.__dict__.setdefault("sessions", {})
    outer = open_sessions.get(id(engine))
    if outer is not None:
        with outer.begin_nested():
            yield outer
        return
    with _write_session(engine) as session:
        open_sessions[id(engine)] = session
        try:
            yield session
        finally:
            open_sessions.pop(id(engine), None)


@contextmanager
def read_scope(engine: Engine) -> Iterator[Session]:
    """A read: inside this thread's open write transaction when there is one (so it sees
    what that transaction wrote), else a plain session that takes no write lock."""
    outer = _OPEN.__dict__.get("sessions", {}).get(id(engine))
    if outer is not None:
        yield outer
        return
    with Session(engine, expire_on_commit=False) as session:
        yield session


@contextmanager
def _write_session(engine: Engine) -> Iterator[Session]:
    with (
        _WRITE_LOCKS.get(engine) or nullcontext(),
        Session(engine, expire_on_commit=False) as session,
    ):
        if engine.dialect.name == "sqlite":
            # Take the write lock up front: a deferred transaction that reads and then
            # writes fails at once (SQLITE_BUSY_SNAPSHOT) when another writer got there first.
            session.connection().exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise

"""The database of every command: one `--db` option, one default (DATABASE_URL, else
./warroom.db), so what `warroom local` played is what `warroom export` reads."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


class DatabaseProblem(Exception):
    """What is wrong with the database a command was given; the command line lists the
    problems and exits 2."""

    def __init__(self, what: str, problems: list[str]) -> None:
        super().__init__(what)
        self.what, self.problems = what, problems


DB_HELP = "a SQLite file or a database URL (default: DATABASE_URL, else ./warroom.db)"


def add_db_option(parser: argparse.ArgumentParser) -> None:
    """`--db` for a command that reads or writes the database."""
    parser.add_argument("--db", metavar="FILE|URL", help=DB_HELP)


def with_db_option(args: argparse.Namespace, settings: Settings) -> Settings:
    """The settings with `--db` applied, if given (DatabaseProblem if it is neither a file
    name nor a URL)."""
    given = getattr(args, "db", None)
    if not given:
        return settings
    url = given if "://" in given else f"sqlite:///{given}"
    try:
        make_url(url).get_dialect()  # a bad port or an unknown driver fails here, not later
    except (ArgumentError, ValueError):  # never echoes the value: a URL may hold a password
        raise DatabaseProblem(
            "--db", ["expected a SQLite file (warroom.db) or a database URL (postgresql://…)"]
        ) from None
    return settings.model_copy(update={"database_url": url})


def sqlite_file(database_url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def shown_url(database_url: str) -> str:
    """The URL to print: its password hidden."""
    return make_url(database_url).render_as_string(hide_password=True)


def existing_database(settings: Settings, command: str) -> Engine:
    """The engine of a database a reading command may open, brought to the current schema;
    DatabaseProblem when its SQLite file does not exist (a reading command never creates an
    empty database)."""
    from storage import migrate
    from storage.db import make_engine

    path = sqlite_file(settings.database_url)
    if path is not None and not path.exists():
        raise DatabaseProblem(
            command,
            [
                f"no database at {path} (nothing recorded there yet)",
                "name the bot's or the local workspace's database with --db FILE|URL "
                "or DATABASE_URL",
            ],
        )
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    return engine

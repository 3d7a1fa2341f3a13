"""`warroom rehearse [SCENARIO] [--instant | --speed N] [--until DURATION] [--report DIR]`:
play the launch on a virtual clock against the real app, print the grade as a table, and
exit 1 when the playbook breaks a promise (2 for bad input), so a pipeline can run it after
every change of the playbook.

Registered by bot/cli.py; the engine is imported when the command runs, not with the CLI.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli_check import fail
from bot.playbook import Playbook, PlaybookError, load_playbook
from bot.rehearse.scenario import Scenario, ScenarioError, load_scenario, offset
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.rehearse.driver import Run
    from bot.rehearse.grade import Grade

DEFAULT_SCENARIO = "spike"
DETAIL_WIDTH = 100


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    rehearse = sub.add_parser(
        "rehearse",
        help="play the launch on a virtual clock against the real app, and grade the playbook",
        description="Play the whole launch (T−24h to the council) on a virtual clock against "
        "the real app, a loopback Slack and a story-fed Prometheus; print the grade. "
        "Exit 1 when a promise is broken, 2 for bad input.",
    )
    rehearse.add_argument(
        "scenario",
        nargs="?",
        default=DEFAULT_SCENARIO,
        help=f"a shipped scenario or the path of a .yml file (default {DEFAULT_SCENARIO})",
    )
    pace = rehearse.add_mutually_exclusive_group()
    pace.add_argument(
        "--instant", action="store_true", help="as fast as the machine allows (the default)"
    )
    pace.add_argument(
        "--speed",
        type=float,
        metavar="N",
        help="scaled real time: a minute of the launch takes 60/N seconds; "
        "the transcript is printed as it happens",
    )
    rehearse.add_argument(
        "--until",
        metavar="DURATION",
        help="stop this long after T (e.g. 4h) instead of at the council",
    )
    rehearse.add_argument(
        "--report", metavar="DIR", help="write grade.md, grade.json and rehearsal.html there"
    )
    rehearse.add_argument(
        "--transcript", action="store_true", help="print every post and click after the grade"
    )
    rehearse.add_argument("--playbook", metavar="FILE", help="default: WARROOM_PLAYBOOK or bundled")
    rehearse.add_argument(
        "--log", metavar="FILE", help="the bot's log lines (default: only warnings, on stderr)"
    )
    rehearse.set_defaults(fn=cmd_rehearse)
    return rehearse


def _until(text: str | None) -> timedelta | None:
    if text is None:
        return None
    until = offset(text)
    if until <= timedelta(0):
        raise ValueError("must be after T")
    return until


def _inputs(args: argparse.Namespace, settings: Settings) -> tuple[Scenario, Playbook] | None:
    """The scenario and the playbook, or None after saying what is wrong."""
    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as exc:
        fail("rehearse", [str(exc)])
        return None
    try:
        return scenario, load_playbook(args.playbook or settings.warroom_playbook)
    except PlaybookError as exc:
        fail(f"playbook {exc.source}", exc.problems)
        return None


def cmd_rehearse(args: argparse.Namespace, settings: Settings) -> int:
    try:
        until = _until(args.until)
    except ValueError as exc:
        fail("--until", [f"`{args.until}`: {exc} (try 4h or 30h)"])
        return 2
    if args.speed is not None and args.speed <= 0:
        fail("--speed", [f"`{args.speed:g}`: must be above 0 (60 plays a minute a second)"])
        return 2
    inputs = _inputs(args, settings)
    if inputs is None:
        return 2
    scenario, playbook = inputs
    _quiet_logs(args.log)
    return _play(args, scenario, playbook, until)


def _quiet_logs(path: str | None) -> None:
    """The bot logs every query and post: to a file when asked, else only warnings."""
    root = logging.getLogger()
    if path is None:
        root.setLevel(logging.WARNING)
        for handler in root.handlers:  # Bolt's note that a token and `authorize` are both set
            handler.addFilter(lambda r: not r.name.startswith("slack_bolt") or r.levelno >= 40)
        return
    for handler in root.handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(path, "a", encoding="utf-8"))  # noqa: SIM115 - kept open


def _play(
    args: argparse.Namespace, scenario: Scenario, playbook: Playbook, until: timedelta | None
) -> int:
    import asyncio

    from bot.rehearse.driver import Rehearsal
    from bot.rehearse.grade import grade
    from bot.rehearse.report import write_reports

    live = _print_lines if args.speed else None
    rehearsal = Rehearsal(scenario, playbook, until=until, speed=args.speed, live=live)
    started = time.monotonic()
    try:
        run = asyncio.run(rehearsal.run())
        seconds = time.monotonic() - started
        result = grade(run, args.playbook or "")
        print_grade(result, f"played {_span(run)} in {seconds:.1f} s")
        if args.transcript:
            _print_lines(["", "Transcript", *run.timeline.transcript()])
        if args.report:
            folder = Path(args.report)
            written = write_reports(run, result, folder)
            print(f"reports: {', '.join(str(p) for p in written)}")
    finally:
        rehearsal.close()
    return 0 if result.kept else 1


def _span(run: Run) -> str:
    return f"T{_signed(run.start - run.launch_at)} → T{_signed(run.end - run.launch_at)}"


def _signed(delta: timedelta) -> str:
    sign = "−" if delta < timedelta(0) else "+"
    minutes = int(abs(delta).total_seconds()) // 60
    hours, rest = divmod(minutes, 60)
    return f"{sign}{hours}h{rest:02d}m" if rest else f"{sign}{hours}h"


def _print_lines(lines: list[str]) -> None:
    for line in lines:
        print(line)
    sys.stdout.flush()


def grade_table(result: Grade) -> list[str]:
    """The grade as a plain table: mark, promise, detail (long details wrap)."""
    import textwrap

    width = max(len(p.name) for p in result.promises) if result.promises else 10
    lines = [f"     {'promise'.ljust(width)}  detail", f"     {'-' * width}  {'-' * 6}"]
    for promise in result.promises:
        mark = " ok " if promise.kept else "FAIL"
        wrapped = textwrap.wrap(promise.detail, DETAIL_WIDTH) or [""]
        lines.append(f"{mark} {promise.name.ljust(width)}  {wrapped[0]}")
        lines.extend(f"     {' ' * width}  {more}" for more in wrapped[1:])
    return lines


def print_grade(result: Grade, played: str) -> None:
    kept = sum(p.kept for p in result.promises)
    lines = [f"Rehearsal `{result.scenario}` with the playbook {result.playbook!r}: {played}", ""]
    lines += grade_table(result)
    if result.by_hand:
        lines += ["", "By hand (the bot did not do these):"]
        lines += [f"  - {line}" for line in result.by_hand]
    verdict = "all kept" if result.kept else f"{len(result.broken)} BROKEN"
    lines += ["", f"Grade: {kept} of {len(result.promises)} promises kept — {verdict}"]
    _print_lines(lines)

"""How long `warroom rehearse spike --instant` takes to play the whole launch (T−24h05m to
the council's close, 58 h of virtual time) and how much memory it peaks at.

Each run is a fresh process (`python -m bot.cli rehearse …`, as a person or a pipeline
runs it): its wall time from start to exit (imports, the play, the grade), the play
alone (as the command prints it), and its peak resident memory (ru_maxrss of the child).
Its CPU time is printed too: on a shared machine the wall time
includes waiting for a core. The last run also writes the reports (--report: two charts and the page).

    python bench/rehearse_time.py [--runs 3] [--scenario spike]

Targets: under 30 s on 2 cores, under 200 MB.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLAYED = re.compile(r"played (?P<span>\S+ → \S+) in (?P<seconds>[\d.]+) s")


def one_run(
    scenario: str, report: Path | None, folder: Path
) -> tuple[float, float, str, float, int]:
    """(wall s, play s, span, peak RSS MiB, exit code) of one fresh process."""
    command = [sys.executable, "-m", "bot.cli", "rehearse", scenario, "--instant"]
    if report is not None:
        command += ["--report", str(report)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("WARROOM_PLAYBOOK", None)
    out_path, err_path = folder / "out.txt", folder / "err.txt"
    started = time.monotonic()
    with out_path.open("w") as out, err_path.open("w") as err:
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(child.pid, 0)  # its own peak, not the largest child's
        child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    printed = out_path.read_text()
    found = PLAYED.search(printed)
    if found is None:
        raise SystemExit(
            f"no grade printed (exit {child.returncode}):\n{printed}\n{err_path.read_text()}"
        )
    peak_mib = usage.ru_maxrss / 1024  # Linux: KiB
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, float(found["seconds"]), found["span"], peak_mib, child.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scenario", default="spike")
    args = parser.parse_args()
    walls, cpus, plays, peaks = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="warroom-bench-") as folder:
        for number in range(args.runs):
            last = number == args.runs - 1
            here = Path(folder)
            wall, cpu, play, span, peak, code = one_run(args.scenario, here if last else None, here)
            walls.append(wall)
            cpus.append(cpu)
            plays.append(play)
            peaks.append(peak)
            shown = " (with --report)" if last else ""
            print(
                f"run {number + 1}: {span}: process {wall:5.1f} s (CPU {cpu:5.1f} s), "
                f"play {play:5.1f} s, "
                f"peak RSS {peak:6.1f} MiB, exit {code}{shown}"
            )
    print(
        f"`warroom rehearse {args.scenario} --instant`, {args.runs} runs on {os.cpu_count()} "
        f"cores (load average {os.getloadavg()[0]:.1f}): process median "
        f"{statistics.median(walls):.1f} s (max {max(walls):.1f}, CPU median "
        f"{statistics.median(cpus):.1f} s), "
        f"play median {statistics.median(plays):.1f} s; peak RSS max {max(peaks):.1f} MiB "
        "(targets < 30 s, < 200 MB)"
    )


if __name__ == "__main__":
    main()

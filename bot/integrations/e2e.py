"""The quick end-to-end test from the playbook, run as a subprocess with a timeout."""

from __future__ import annotations

import shlex
import subprocess
from dataclasses import dataclass

TAIL_LINES = 15


@dataclass(frozen=True)
class E2eResult:
    command: str
    exit_code: int | None  # None: timed out or could not start
    tail: str

    @property
    def passed(self) -> bool:
        return self.exit_code == 0


def run(command: str, timeout: float, cwd: str | None = None) -> E2eResult:
    try:
        done = subprocess.run(
            shlex.split(command), capture_output=True, text=True, timeout=timeout, cwd=cwd
        )
    except FileNotFoundError as exc:
        return E2eResult(command, None, f"could not start: {exc.strerror}: {exc.filename}")
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout or b""
        text = out.decode(errors="replace") if isinstance(out, bytes) else out
        return E2eResult(command, None, f"timed out after {timeout:.0f} s\n" + _tail(text))
    return E2eResult(command, done.returncode, _tail(done.stdout + done.stderr))


def _tail(text: str) -> str:
    return "\n".join(text.strip().splitlines()[-TAIL_LINES:])

"""The one identity of this process among the bot's replicas: the scheduler's claims and the
runbook's leases both name it."""

from __future__ import annotations

import os
import socket
import uuid


def replica_id(configured: str = "") -> str:
    """The configured id (stable across restarts of one deployment), else host, pid and a
    random suffix (unique, so two processes never mistake each other's claims)."""
    return configured or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def is_gone(owner: str) -> bool:
    """True when `owner` names a process of this host that no longer runs (killed, crashed,
    restarted): its leases and claims can be taken at once instead of waited out. Unknown
    for other hosts and configured ids (False: their leases run out as usual)."""
    host, _, rest = owner.partition(":")
    pid_text, _, _ = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, someone else's
    return False

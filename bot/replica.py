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

"""Shows each request where people look, in the caller's thread.

The notifier hands every post and update to the outbox (bot/slack_out/outbox.py), which
stores it and returns: that is the one queue to Slack, so nothing here waits on Slack. The
outbox sends one channel's posts in order (a thread reply after the message it belongs to,
which it may name by its outbox handle until Slack answers) and merges the updates of one
message still waiting into the last one. What is left here is to hand over the request as
it is at the call, one call per request at a time, so an older state never follows a newer
one into the outbox."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from bot.rollback.model import RequestView
from bot.rollback.notify import RollbackNotifier
from bot.rollback.store import RequestStore

log = logging.getLogger(__name__)

Say = Callable[[RollbackNotifier, RequestView], None]


class RequestDisplay:
    def __init__(self, store: RequestStore, notifier: RollbackNotifier) -> None:
        self.store = store
        self.notifier = notifier
        self._guard = threading.Lock()
        self._locks: dict[int, threading.Lock] = {}

    def refresh(self, request_id: int) -> None:
        """Render the request's state now into its message: posted the first time, with its
        ts (or its outbox handle) recorded before this returns, and updated after."""

        def show(view: RequestView) -> None:
            posted = self.notifier.refresh(view)
            if posted and not view.request.message_ts:
                channel, ts = posted
                self.store.update(request_id, {"channel": channel, "message_ts": ts})

        self._hand_over(request_id, show)

    def say(self, request_id: int, say: Say) -> None:
        """A notifier call with the request as it is now (its message's ts included)."""
        self._hand_over(request_id, lambda view: say(self.notifier, view))

    def _hand_over(self, request_id: int, show: Callable[[RequestView], None]) -> None:
        """The request is read and handed over under its lock: of two threads showing it,
        the one that hands over last read it last. A failure is logged and the caller goes
        on: the change it shows is recorded, and the next refresh shows it."""
        with self._guard:
            lock = self._locks.setdefault(request_id, threading.Lock())
        with lock:
            try:
                show(self.store.view(request_id))
            except Exception:  # noqa: BLE001 - a failed hand-over must not undo the change
                log.exception("rollback.display", extra={"fields": {"request": request_id}})

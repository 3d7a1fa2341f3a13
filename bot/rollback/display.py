"""Keeps each request's war-room message current without making the caller wait on Slack.

One worker thread runs the posts in the order asked, so a thread reply goes out after the
message it belongs to is posted (and its ts recorded), and an older state never overwrites
a newer one: a refresh loads the request when it runs, and a refresh still queued for a
request makes another one unnecessary."""

from __future__ import annotations

import logging
import threading
from collections import deque
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
        self._lock = threading.Lock()
        self._rendering = threading.Lock()  # one post at a time, the worker's or show_now's
        self._changed = threading.Condition(self._lock)
        self._tasks: deque[Callable[[], None]] = deque()
        self._queued_refresh: set[int] = set()
        self._busy = 0
        self._worker: threading.Thread | None = None

    def refresh(self, request_id: int) -> None:
        """Render the request's latest state into its message, soon."""
        with self._lock:
            if request_id in self._queued_refresh:
                return
            self._queued_refresh.add(request_id)
        self._enqueue(lambda: self._refresh(request_id))

    def show_now(self, request_id: int) -> None:
        """Post or update the message before returning: a new request's message exists, with
        its ts recorded, before anything is said in its thread."""
        with self._rendering:
            self._refresh(request_id)

    def say(self, request_id: int, say: Say) -> None:
        """A notifier call with the request as it is when the call runs."""
        self._enqueue(lambda: say(self.notifier, self.store.view(request_id)))

    def drain(self, timeout: float = 30) -> bool:
        """Wait until every queued post is done; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._busy == 0, timeout)

    def _refresh(self, request_id: int) -> None:
        with self._lock:
            self._queued_refresh.discard(request_id)
        view = self.store.view(request_id)
        posted = self.notifier.refresh(view)
        if posted and not view.request.message_ts:
            channel, ts = posted
            self.store.update(request_id, {"channel": channel, "message_ts": ts})

    def _enqueue(self, task: Callable[[], None]) -> None:
        with self._lock:
            self._tasks.append(task)
            self._busy += 1
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._work, daemon=True, name="rollback-display"
                )
                self._worker.start()

    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._tasks:
                    self._worker = None  # started again by the next post
                    return
                task = self._tasks.popleft()
            try:
                with self._rendering:
                    task()
            except Exception:  # noqa: BLE001 - a failed post is logged; the record stands
                log.exception("rollback.display")
            finally:
                with self._changed:
                    self._busy -= 1
                    self._changed.notify_all()

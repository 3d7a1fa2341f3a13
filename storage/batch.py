"""Group commit: rows from many threads written by one writer thread, many per transaction.

SQLite commits one transaction at a time; a burst of requests each committing its own row
queues on that. Here each caller hands its row to the writer and waits for the commit that
includes it, so an accepted row is a stored row, and one commit serves every row that
arrived while the previous one was being written.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
Row = TypeVar("Row")
Result = TypeVar("Result")
MAX_BATCH = 500


class GroupCommitWriter(Generic[Row, Result]):
    def __init__(self, write_batch: Callable[[list[Row]], list[Result]], name: str) -> None:
        """`write_batch` stores the rows in one transaction and returns one result per row,
        in order; if it raises, every caller of that batch gets the error."""
        self.write_batch = write_batch
        self.name = name
        self._queue: queue.SimpleQueue[tuple[Row, Future[Result]]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    def submit(self, row: Row) -> Future[Result]:
        future: Future[Result] = Future()
        self._queue.put((row, future))
        if self._thread is None:
            with self._start:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                    self._thread.start()
        return future

    def write(self, row: Row) -> Result:
        return self.submit(row).result()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                results = self.write_batch([row for row, _ in batch])
            except BaseException as exc:  # noqa: BLE001 - handed to each waiting caller
                for _, future in batch:
                    future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                future.set_result(result)

"""A thread pool that runs the most urgent waiting task first.

The search passes share one pool for their writes to the API server. When many searches act at once (a
cleaner hour arrives for every search of a region), the writes that start or stop pods must not queue
behind the bookkeeping of other passes (trial flips, per-trial grams): a task with a lower priority number
runs before any waiting task with a higher one, and tasks of one priority run in the order submitted."""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable
from concurrent.futures import Future


class PriorityPool:
    def __init__(self, workers: int, name: str):
        self._workers = workers
        self._name = name
        self._cond = threading.Condition()
        self._waiting: list[tuple[int, int, Future, Callable[[], object]]] = []  # heap
        self._order = itertools.count()
        self._started = False

    def submit(self, priority: int, task: Callable[[], object]) -> Future:
        future: Future = Future()
        with self._cond:
            if not self._started:  # on first use, not at import
                for i in range(self._workers):
                    threading.Thread(target=self._work, name=f"{self._name}-{i}", daemon=True).start()
                self._started = True
            heapq.heappush(self._waiting, (priority, next(self._order), future, task))
            self._cond.notify()
        return future

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._waiting:
                    self._cond.wait()
                _, _, future, task = heapq.heappop(self._waiting)
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = task()
            except BaseException as exc:  # the submitter's future.result() raises it
                future.set_exception(exc)
            else:
                future.set_result(result)

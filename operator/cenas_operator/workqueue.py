"""A work queue of object keys for worker threads, in the manner of client-go's workqueue.

A key is in the queue at most once however often it is added (a burst of watch events for one trial
is one reconciliation), and never handed to two workers at once: a key added while a worker holds it is
handed out again after that worker is done. `add(key, delay)` schedules a later look (a backoff, a pod
still shutting down); an earlier add wins over a later one."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable


class WorkQueue:
    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._cond = threading.Condition()
        self._ready: deque[Hashable] = deque()
        self._queued: set[Hashable] = set()  # in _ready
        self._active: set[Hashable] = set()  # held by a worker
        self._again: set[Hashable] = set()  # added while active: ready again when done
        self._delayed: list[tuple[float, int, Hashable]] = []  # (due, tiebreak, key) heap
        self._order = itertools.count()
        self._closed = False

    def add(self, key: Hashable, delay: float = 0.0) -> None:
        with self._cond:
            if delay > 0:
                heapq.heappush(self._delayed, (self._clock() + delay, next(self._order), key))
            else:
                self._make_ready(key)
            self._cond.notify()

    def get(self, timeout: float | None = None) -> Hashable | None:
        """The next ready key (the caller must call `done(key)`), or None on timeout or after `close()`."""
        end = None if timeout is None else self._clock() + timeout
        with self._cond:
            while not self._closed:
                self._promote_due()
                if self._ready:
                    key = self._ready.popleft()
                    self._queued.discard(key)
                    self._active.add(key)
                    return key
                wait = self._delayed[0][0] - self._clock() if self._delayed else None
                if end is not None:
                    left = end - self._clock()
                    if left <= 0:
                        return None
                    wait = left if wait is None else min(wait, left)
                self._cond.wait(wait)
            return None

    def done(self, key: Hashable) -> None:
        with self._cond:
            self._active.discard(key)
            if key in self._again:
                self._again.discard(key)
                self._make_ready(key)
                self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._ready) + len(self._again) + len(self._delayed)

    def _make_ready(self, key: Hashable) -> None:
        if key in self._active:
            self._again.add(key)
        elif key not in self._queued:
            self._queued.add(key)
            self._ready.append(key)

    def _promote_due(self) -> None:
        now = self._clock()
        while self._delayed and self._delayed[0][0] <= now:
            self._make_ready(heapq.heappop(self._delayed)[2])


def run_workers(queue: WorkQueue, work: Callable[[Hashable], float | None], count: int, name: str,
                on_error: Callable[[Hashable, Exception], float]) -> list[threading.Thread]:
    """Start `count` daemon threads that take keys and call `work(key)` -> seconds until the key's next
    look (None: only when added again). A raising `work` is retried after `on_error(key, exc)` seconds."""

    def loop() -> None:
        while (key := queue.get()) is not None:
            try:
                again = work(key)
            except Exception as exc:  # one key's failure must not stop the worker
                again = on_error(key, exc)
            finally:
                queue.done(key)
            if again is not None:
                queue.add(key, again)

    threads = [threading.Thread(target=loop, name=f"{name}-{i}", daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    return threads

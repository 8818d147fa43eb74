import threading

from cenas_operator.workqueue import WorkQueue, run_workers


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_key_added_many_times_is_handed_out_once():
    queue = WorkQueue()
    for _ in range(3):
        queue.add("a")
    queue.add("b")
    assert queue.get(timeout=0) == "a"
    assert queue.get(timeout=0) == "b"
    assert queue.get(timeout=0) is None


def test_a_key_added_while_held_comes_back_only_after_done():
    queue = WorkQueue()
    queue.add("a")
    assert queue.get(timeout=0) == "a"
    queue.add("a")
    assert queue.get(timeout=0) is None  # never to two workers at once
    queue.done("a")
    assert queue.get(timeout=0) == "a"
    queue.done("a")
    assert queue.get(timeout=0) is None


def test_a_delayed_key_is_ready_when_due_and_an_immediate_add_wins():
    clock = Clock()
    queue = WorkQueue(clock=clock)
    queue.add("late", delay=5.0)
    assert queue.get(timeout=0) is None
    clock.now = 5.0
    assert queue.get(timeout=0) == "late"
    queue.done("late")
    queue.add("x", delay=10.0)
    queue.add("x")
    assert queue.get(timeout=0) == "x"
    queue.done("x")
    clock.now = 20.0
    assert queue.get(timeout=0) == "x"  # the delayed entry still fires: one more look, never a lost one


def test_close_releases_waiting_workers():
    queue = WorkQueue()
    got = []
    waiter = threading.Thread(target=lambda: got.append(queue.get()))
    waiter.start()
    queue.close()
    waiter.join(timeout=2)
    assert not waiter.is_alive() and got == [None]


def test_workers_retry_a_failing_key_after_the_error_delay_and_requeue_what_work_asks_for():
    queue = WorkQueue()
    seen: list[str] = []
    finished = threading.Event()

    def work(key):
        seen.append(key)
        if seen.count(key) == 1:
            raise RuntimeError("conflict")
        if len(seen) == 3:
            finished.set()
        return 0.0 if len(seen) < 3 else None

    errors = []
    run_workers(queue, work, 1, "test", lambda key, exc: errors.append(str(exc)) or 0.0)
    queue.add("k")
    assert finished.wait(2)
    queue.close()
    assert seen == ["k", "k", "k"] and errors == ["conflict"]

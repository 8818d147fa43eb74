import threading

import pytest

from cenas_operator.priority_pool import PriorityPool


def test_waiting_tasks_run_most_urgent_first_then_in_submission_order():
    pool = PriorityPool(1, "test")
    gate, ran = threading.Event(), []
    blocker = pool.submit(0, gate.wait)  # holds the only worker while the rest queue up
    futures = [pool.submit(priority, lambda tag=tag: ran.append(tag))
               for priority, tag in [(1, "grams"), (1, "flip"), (0, "pod-a"), (0, "pod-b")]]
    gate.set()
    for future in [blocker, *futures]:
        future.result(timeout=5)
    assert ran == ["pod-a", "pod-b", "grams", "flip"]


def test_a_failing_task_raises_in_its_future_and_the_pool_keeps_working():
    pool = PriorityPool(2, "test")

    def fail():
        raise RuntimeError("conflict")

    with pytest.raises(RuntimeError, match="conflict"):
        pool.submit(0, fail).result(timeout=5)
    assert pool.submit(1, lambda: 42).result(timeout=5) == 42


def test_tasks_run_in_parallel_up_to_the_worker_count():
    pool = PriorityPool(3, "test")
    barrier = threading.Barrier(3, timeout=5)  # breaks unless three tasks run at once
    futures = [pool.submit(0, barrier.wait) for _ in range(3)]
    assert sorted(f.result(timeout=5) for f in futures) == [0, 1, 2]

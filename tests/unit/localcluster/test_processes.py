import sys

from cenas_localcluster import processes


def test_start_and_stop_by_pid_with_start_time(tmp_path):
    record = processes.start("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"], tmp_path)
    assert processes.is_alive(record)
    processes.stop(record, grace_seconds=5)
    assert not processes.is_alive(record)


def test_a_recycled_pid_is_not_taken_for_the_recorded_process(tmp_path):
    record = processes.start("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"], tmp_path)
    impostor = processes.ProcessRecord("sleeper", record.pid, record.start_ticks + 1, record.log)
    assert not processes.is_alive(impostor)
    processes.stop(impostor)  # must not signal the real process
    assert processes.is_alive(record)
    processes.stop(record)


def test_stop_escalates_to_sigkill_when_sigterm_is_ignored(tmp_path):
    script = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(60)"
    record = processes.start("stubborn", [sys.executable, "-c", script], tmp_path)
    processes.wait_until(lambda: "up" in processes.tail(record.log), 10, "the process to ignore SIGTERM")
    processes.stop(record, grace_seconds=0.3)
    assert not processes.is_alive(record)

from cenas_localcluster.pod_status import ContainerState, pod_failed_patch, pod_phase, pod_status_patch

RUNNING = ContainerState("main", "img", pid=42, started_at="2026-01-01T00:00:00Z")


def exited(code: int, message: str = "") -> ContainerState:
    return ContainerState("main", "img", pid=42, started_at="t0", exit_code=code, finished_at="t1", message=message)


def test_phase_follows_containers():
    assert pod_phase([RUNNING]) == "Running"
    assert pod_phase([exited(0)]) == "Succeeded"
    assert pod_phase([exited(0), exited(143)]) == "Failed"
    assert pod_phase([exited(0), RUNNING]) == "Running"


def test_running_pod_is_ready_with_running_state():
    status = pod_status_patch([RUNNING], "t0")["status"]
    assert status["phase"] == "Running"
    assert {c["type"]: c["status"] for c in status["conditions"]}["Ready"] == "True"
    [container] = status["containerStatuses"]
    assert container["state"] == {"running": {"startedAt": "2026-01-01T00:00:00Z"}}
    assert container["ready"] is True


def test_terminated_container_carries_exit_code_reason_and_message():
    status = pod_status_patch([exited(143, "checkpointed at step 9")], "t0")["status"]
    assert status["phase"] == "Failed"
    terminated = status["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"], terminated["message"]) == (143, "Error", "checkpointed at step 9")
    assert {c["type"]: c["status"] for c in status["conditions"]}["Ready"] == "False"


def test_successful_container_reason_is_completed_and_message_omitted_when_empty():
    terminated = pod_status_patch([exited(0)], "t0")["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["reason"] == "Completed"
    assert "message" not in terminated


def test_failed_patch_names_reason():
    patch = pod_failed_patch("UnsupportedByNodeAgent", "spec.initContainers are not supported")
    assert patch["status"]["phase"] == "Failed"
    assert patch["status"]["reason"] == "UnsupportedByNodeAgent"

import pytest

from cenas_localcluster.pod_plan import (
    DEFAULT_TERMINATION_MESSAGE_PATH,
    UnsupportedPod,
    expand,
    plan_containers,
)


def pod(**container) -> dict:
    base = {"name": "main", "image": "img", "command": ["python", "-m", "cenas_trainer"]}
    return {
        "metadata": {"name": "p", "namespace": "ns", "uid": "u-1", "labels": {"role": "train"}},
        "spec": {"nodeName": "gpu-node-0", "containers": [{**base, **container}]},
    }


def no_refs(kind, name, key):
    return None


def test_expand_replaces_defined_variables_and_keeps_unknown_and_escapes():
    assert expand("$(A)-$(B)-$$(A)", {"A": "1"}) == "1-$(B)-$(A)"


def test_argv_is_command_plus_args_with_expansion():
    [plan] = plan_containers(
        pod(args=["--trial", "$(TRIAL)"], env=[{"name": "TRIAL", "value": "t-7"}]), no_refs, {}
    )
    assert plan.argv == ["python", "-m", "cenas_trainer", "--trial", "t-7"]


def test_env_order_later_entries_win_and_see_earlier_ones():
    env = [{"name": "A", "value": "x"}, {"name": "B", "value": "$(A)y"}, {"name": "A", "value": "z"}]
    [plan] = plan_containers(pod(env=env), no_refs, {"PATH": "/bin", "A": "host"})
    assert plan.env == {"PATH": "/bin", "A": "z", "B": "xy"}


def test_env_from_field_and_config_refs():
    def refs(kind, name, key):
        return {("configMap", "cfg", "k"): "from-cm", ("secret", "sec", "*"): "TOKEN=abc\nUSER=me"}.get((kind, name, key))

    env = [
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "ROLE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['role']"}}},
        {"name": "CM", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k"}}},
    ]
    [plan] = plan_containers(pod(env=env, envFrom=[{"secretRef": {"name": "sec"}, "prefix": "S_"}]), refs, {})
    assert plan.env == {"S_TOKEN": "abc", "S_USER": "me", "POD": "p", "ROLE": "train", "CM": "from-cm"}


def test_missing_required_key_names_the_field():
    env = [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "k"}}}]
    with pytest.raises(UnsupportedPod, match=r"spec\.containers\[0\]\.env\[0\]\.valueFrom\.secretKeyRef"):
        plan_containers(pod(env=env), no_refs, {})


def test_optional_missing_key_is_left_unset():
    env = [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "k", "optional": True}}}]
    [plan] = plan_containers(pod(env=env), no_refs, {})
    assert "X" not in plan.env


def test_container_without_command_is_rejected_with_field_path():
    with pytest.raises(UnsupportedPod, match=r"spec\.containers\[0\]\.command must be set"):
        plan_containers(pod(command=None), no_refs, {})


def test_mounts_and_termination_settings():
    [plan] = plan_containers(
        pod(volumeMounts=[{"name": "ckpt", "mountPath": "/ckpt", "readOnly": True}],
            terminationMessagePolicy="FallbackToLogsOnError"),
        no_refs, {},
    )
    assert [(m.volume, m.mount_path, m.read_only) for m in plan.mounts] == [("ckpt", "/ckpt", True)]
    assert plan.termination_message_path == DEFAULT_TERMINATION_MESSAGE_PATH
    assert plan.fallback_to_logs_on_error


def test_init_containers_are_refused():
    p = pod()
    p["spec"]["initContainers"] = [{"name": "init", "command": ["true"]}]
    with pytest.raises(UnsupportedPod, match="initContainers"):
        plan_containers(p, no_refs, {})

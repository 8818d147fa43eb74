"""Pure translation of a pod's containers into local process plans: argv, environment, working
directory and bind mounts. Anything a local process cannot honour raises `UnsupportedPod` with a
message that names the field, so the pod fails clearly instead of running differently."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

DEFAULT_TERMINATION_MESSAGE_PATH = "/dev/termination-log"
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
_VAR_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)|\$\$")

# (kind, name, key) -> value or None when missing; kind is "configMap" or "secret".
RefResolver = Callable[[str, str, str], str | None]


class UnsupportedPod(ValueError):
    """The pod asks for something the node agent does not do; the message names the field."""


@dataclass(frozen=True)
class Mount:
    volume: str
    mount_path: str
    sub_path: str = ""
    read_only: bool = False


@dataclass(frozen=True)
class ContainerPlan:
    name: str
    image: str
    argv: list[str]
    env: dict[str, str]
    working_dir: str | None
    mounts: list[Mount]
    termination_message_path: str
    fallback_to_logs_on_error: bool


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes $(VAR) expansion: defined variables are replaced, $$ escapes, others stay as written."""

    def sub(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return env.get(name, match.group(0))

    return _VAR_REF.sub(sub, text)


def field_ref(pod: dict, path: str) -> str:
    """The value of a downward-API fieldRef for this pod."""
    meta, spec, status = pod["metadata"], pod["spec"], pod.get("status") or {}
    simple = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
        "status.podIP": status.get("podIP", "127.0.0.1"),
        "status.hostIP": status.get("hostIP", "127.0.0.1"),
    }
    if path in simple:
        return simple[path]
    match = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    if match:
        return (meta.get(match.group(1)) or {}).get(match.group(2), "")
    raise UnsupportedPod(f"fieldRef.fieldPath {path!r} is not supported by the node agent")


def _env_value(pod: dict, where: str, item: dict, resolve: RefResolver, env: Mapping[str, str]) -> str | None:
    if "value" in item:
        return expand(item["value"], env)
    source = item.get("valueFrom") or {}
    if "fieldRef" in source:
        return field_ref(pod, source["fieldRef"]["fieldPath"])
    for kind, ref_key in (("configMap", "configMapKeyRef"), ("secret", "secretKeyRef")):
        if ref_key in source:
            ref = source[ref_key]
            value = resolve(kind, ref["name"], ref["key"])
            if value is None and not ref.get("optional"):
                raise UnsupportedPod(f"{where}.valueFrom.{ref_key}: {kind} {ref['name']!r} has no key {ref['key']!r}")
            return value
    if "resourceFieldRef" in source:
        return ""  # no resource accounting on the agent's host
    return ""


def build_env(pod: dict, container: dict, index: int, resolve: RefResolver, base: Mapping[str, str]) -> dict[str, str]:
    """The container's environment: the host base, then envFrom, then env (later entries win)."""
    env = dict(base)
    for i, source in enumerate(container.get("envFrom") or []):
        prefix = source.get("prefix", "")
        for kind, key in (("configMap", "configMapRef"), ("secret", "secretRef")):
            if key in source:
                values = resolve(kind, source[key]["name"], "*")
                if values is None and not source[key].get("optional"):
                    raise UnsupportedPod(
                        f"spec.containers[{index}].envFrom[{i}].{key}: {kind} {source[key]['name']!r} not found"
                    )
                for line in (values or "").splitlines():
                    name, _, value = line.partition("=")
                    env[prefix + name] = value
    for i, item in enumerate(container.get("env") or []):
        value = _env_value(pod, f"spec.containers[{index}].env[{i}]", item, resolve, env)
        if value is not None:
            env[item["name"]] = value
    return env


def container_argv(container: dict, index: int, env: Mapping[str, str]) -> list[str]:
    """command + args with $(VAR) expansion; an image entrypoint cannot be known without the image."""
    command = container.get("command") or []
    if not command:
        raise UnsupportedPod(
            f"spec.containers[{index}].command must be set: the node agent runs processes, not images"
        )
    return [expand(part, env) for part in [*command, *(container.get("args") or [])]]


def plan_containers(pod: dict, resolve: RefResolver, base_env: Mapping[str, str]) -> list[ContainerPlan]:
    """One plan per container, or UnsupportedPod naming the first field the agent cannot honour."""
    spec = pod["spec"]
    if spec.get("initContainers"):
        raise UnsupportedPod("spec.initContainers are not supported by the node agent")
    plans = []
    for index, container in enumerate(spec["containers"]):
        env = build_env(pod, container, index, resolve, base_env)
        mounts = [
            Mount(m["name"], m["mountPath"], m.get("subPath", ""), bool(m.get("readOnly")))
            for m in container.get("volumeMounts") or []
        ]
        plans.append(
            ContainerPlan(
                name=container["name"],
                image=container.get("image", ""),
                argv=container_argv(container, index, env),
                env=env,
                working_dir=container.get("workingDir"),
                mounts=mounts,
                termination_message_path=container.get("terminationMessagePath")
                or DEFAULT_TERMINATION_MESSAGE_PATH,
                fallback_to_logs_on_error=container.get("terminationMessagePolicy") == "FallbackToLogsOnError",
            )
        )
    return plans

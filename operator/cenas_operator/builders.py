"""Pure builders of the objects the operator creates: NASTrials owned by their NASSearch, and the
trainer Pod of a trial. No API calls here; handlers create what these return."""

from __future__ import annotations

from cenas_operator.api import API_VERSION, LABEL_ROLE, LABEL_SEARCH, NASSearch, NASTrial, TrialRole
from cenas_operator.api.nassearch import VolumeSource
from cenas_operator.config import Settings

LABEL_TRIAL = "cenas.dev/trial"
LABEL_ATTEMPT = "cenas.dev/attempt"
ROLE_SLUG = {
    TrialRole.SUPERNET_TRAINING: "supernet",
    TrialRole.CANDIDATE_SCORING: "score",
    TrialRole.FULL_TRAINING: "full",
}
TRAINER_MODE = {
    TrialRole.SUPERNET_TRAINING: "supernet",
    TrialRole.CANDIDATE_SCORING: "score",
    TrialRole.FULL_TRAINING: "train",
}
CHECKPOINT_VOLUME = "checkpoints"
DATASET_VOLUME = "dataset"
SCRATCH_VOLUME = "scratch"
# Writable scratch space (the root filesystem is read-only), given to Python and torch as TMPDIR.
# Not /tmp itself: on hosts that run pods as processes (the local cluster's node agent), a volume over
# /tmp would hide whatever else lives there.
SCRATCH_PATH = "/var/run/cenas/scratch"


def trial_name(search_name: str, role: TrialRole, index: int) -> str:
    """<search>-<role>-<index>: at most 40 + 9 + 6 characters, inside the 63 a label value allows."""
    return f"{search_name}-{ROLE_SLUG[role]}-{index:05d}"


def pod_name(trial: str, attempt: int) -> str:
    """One pod per attempt, so a replacement never collides with a pod still terminating."""
    return f"{trial}-a{attempt}"


def owner_reference(obj: dict, kind: str) -> dict:
    meta = obj["metadata"]
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _common_labels(search_name: str, role: TrialRole) -> dict:
    return {
        "app.kubernetes.io/name": "cenas-trainer",
        "app.kubernetes.io/part-of": "cenas",
        "app.kubernetes.io/managed-by": "cenas-operator",
        LABEL_SEARCH: search_name,
        LABEL_ROLE: role.value,
    }


def build_trial(
    search: dict,
    role: TrialRole,
    index: int,
    *,
    seed: int,
    architecture: str | None = None,
    candidates: list[str] | None = None,
    supernet_trial: str | None = None,
) -> dict:
    """A NASTrial manifest for `search` (a NASSearch object as read from the API)."""
    parsed = NASSearch.model_validate(search)
    spec = parsed.spec
    trial_spec: dict = {"searchSpace": spec.search_space.value, "role": role.value,
                        "gpus": spec.trainer.gpus_per_trial, "seed": seed}
    if role is TrialRole.FULL_TRAINING:
        trial_spec |= {"architecture": architecture, "epochs": spec.trainer.full_training_epochs}
    elif role is TrialRole.SUPERNET_TRAINING:
        trial_spec["epochs"] = spec.trainer.supernet_epochs
    else:
        trial_spec |= {"candidates": list(candidates or []), "supernetTrial": supernet_trial}
    name = search["metadata"]["name"]
    return {
        "apiVersion": API_VERSION,
        "kind": "NASTrial",
        "metadata": {
            "name": trial_name(name, role, index),
            "namespace": search["metadata"]["namespace"],
            "labels": _common_labels(name, role),
            "ownerReferences": [owner_reference(search, "NASSearch")],
        },
        "spec": trial_spec,
    }


def _volume(name: str, source: VolumeSource, *, create: bool) -> dict:
    if source.persistent_volume_claim is not None:
        return {"name": name, "persistentVolumeClaim": {"claimName": source.persistent_volume_claim.claim_name}}
    if source.host_path is not None:
        return {"name": name, "hostPath": {"path": source.host_path.path,
                                           "type": "DirectoryOrCreate" if create else "Directory"}}
    if source.nfs is not None:
        return {"name": name, "nfs": {"server": source.nfs.server, "path": source.nfs.path}}
    raise ValueError(f"volume {name!r} has no source")  # the CRD's rule makes this unreachable


def trainer_args(search: NASSearch, trial: NASTrial, settings: Settings) -> list[str]:
    """The trainer CLI arguments for this trial (cenas_trainer's flags)."""
    spec, tspec = search.spec, trial.spec
    name = trial.metadata["name"]
    args = [TRAINER_MODE[tspec.role], "--dataset", spec.dataset.name.value]
    if spec.dataset.volume is not None:
        args += ["--data-dir", spec.dataset.path]
    args += ["--checkpoint-dir", settings.checkpoint_mount_path, "--trial", name,
             "--seed", str(tspec.seed or 0), "--report", "nastrial",
             "--power-watts", str(spec.gpus.power_watts),
             "--report-interval-seconds", f"{settings.trainer_report_interval_seconds:g}"]
    if tspec.role is TrialRole.CANDIDATE_SCORING:
        args += ["--supernet-trial", tspec.supernet_trial or ""]
        for candidate in tspec.candidates or []:
            args += ["--arch", candidate]
        return args  # scoring is short: no epochs, no periodic checkpoints
    args += ["--epochs", str(tspec.epochs),
             "--checkpoint-every-seconds", str(spec.trainer.checkpoint_interval_seconds)]
    if tspec.role is TrialRole.FULL_TRAINING:
        args += ["--arch", tspec.architecture or ""]
    if tspec.gpus > 1:
        args += ["--nproc-per-node", str(tspec.gpus)]
    return args


def _resources(search: NASSearch, gpus: int) -> dict:
    resources: dict = {"limits": {search.spec.gpus.resource_name: str(gpus)}}
    declared = search.spec.trainer.resources
    if declared is not None:
        for kind in ("requests", "limits"):
            values = getattr(declared, kind)
            if values is not None:
                # Quantities are strings in core/v1 (the CRD also accepts plain integers).
                quantities = {k: str(v) for k, v in values.model_dump(exclude_none=True).items()}
                resources.setdefault(kind, {}).update(quantities)
    return resources


def build_pod(search_obj: dict, trial_obj: dict, attempt: int, settings: Settings) -> dict:
    """The trainer pod of one attempt of a trial, admitted under the `restricted` Pod Security Standard."""
    search = NASSearch.model_validate(search_obj)
    trial = NASTrial.model_validate(trial_obj)
    spec, name = search.spec, trial_obj["metadata"]["name"]
    labels = _common_labels(search_obj["metadata"]["name"], trial.spec.role) | {
        LABEL_TRIAL: name, LABEL_ATTEMPT: str(attempt),
    }
    volumes = [
        _volume(CHECKPOINT_VOLUME, spec.trainer.checkpoint_volume, create=True),
        {"name": SCRATCH_VOLUME, "emptyDir": {}},
    ]
    mounts = [
        {"name": CHECKPOINT_VOLUME, "mountPath": settings.checkpoint_mount_path},
        {"name": SCRATCH_VOLUME, "mountPath": SCRATCH_PATH},
    ]
    if spec.dataset.volume is not None:
        volumes.append(_volume(DATASET_VOLUME, spec.dataset.volume, create=False))
        mounts.append({"name": DATASET_VOLUME, "mountPath": spec.dataset.path, "readOnly": True})
    pod_spec: dict = {
        "restartPolicy": "Never",  # the operator retries from the checkpoint, with backoff
        "serviceAccountName": settings.trainer_service_account,
        "terminationGracePeriodSeconds": spec.trainer.termination_grace_period_seconds,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": settings.trainer_run_as_user,
            "runAsGroup": settings.trainer_run_as_user,
            "fsGroup": settings.trainer_run_as_user,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [{
            "name": "trainer",
            "image": spec.trainer.image,
            "command": list(settings.trainer_command),
            "args": trainer_args(search, trial, settings),
            "env": [
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                {"name": "TMPDIR", "value": SCRATCH_PATH},
            ],
            "resources": _resources(search, trial.spec.gpus),
            "volumeMounts": mounts,
            "terminationMessagePolicy": "FallbackToLogsOnError",
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
            },
        }],
        "volumes": volumes,
    }
    if spec.gpus.node_selector:
        pod_spec["nodeSelector"] = dict(spec.gpus.node_selector)
    if spec.gpus.tolerations:
        pod_spec["tolerations"] = [t.model_dump(exclude_none=True) for t in spec.gpus.tolerations]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": pod_name(name, attempt),
            "namespace": trial_obj["metadata"]["namespace"],
            "labels": labels,
            "ownerReferences": [owner_reference(trial_obj, "NASTrial")],
        },
        "spec": pod_spec,
    }

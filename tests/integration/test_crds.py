"""The NASSearch and NASTrial CRDs on a real API server: they install, the examples are accepted,
invalid manifests are rejected with a message naming the field, status has its own subresource,
and trials are listed by label and deleted with their search."""

import copy
import json
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from cenas_operator.api import GROUP, LABEL_ROLE, LABEL_SEARCH, VERSION, Condition, ConditionStatus, NASSearch
from cenas_operator.api.crds import CRD_DIR, install_crds, load_crd, load_crds, openapi_schema
from cenas_operator.api.nassearch import (
    ArchitectureResult,
    CarbonLedger,
    CarbonMode,
    Decision,
    DecisionAction,
    GPUCounts,
    NASSearchStatus,
    Policy,
    TrialCounts,
)
from cenas_operator.api.nastrial import (
    CandidateScore,
    Checkpoint,
    EnergySource,
    NASTrial,
    NASTrialStatus,
    Progress,
    Suspensions,
    TrialResult,
)

EXAMPLES = {p.name: yaml.safe_load(p.read_text()) for p in sorted((CRD_DIR / "examples").glob("*.yaml"))}
INVALID = yaml.safe_load((Path(__file__).parent / "crd_cases" / "invalid.yaml").read_text())
PLURAL = {"NASSearch": "nassearches", "NASTrial": "nastrials"}

CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
SMALL_CELL = "|nor_conv_1x1~0|+|skip_connect~0|none~1|+|skip_connect~0|none~1|nor_conv_1x1~2|"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def objects(cluster) -> client.CustomObjectsApi:
    install_crds(cluster.api_client)
    install_crds(cluster.api_client)  # idempotent: other modules install them again
    return client.CustomObjectsApi(cluster.api_client)


def create(objects: client.CustomObjectsApi, namespace: str, manifest: dict[str, Any]) -> dict[str, Any]:
    return objects.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL[manifest["kind"]], manifest, field_validation="Strict"
    )


def replace(objects: client.CustomObjectsApi, namespace: str, manifest: dict[str, Any]) -> dict[str, Any]:
    return objects.replace_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        PLURAL[manifest["kind"]],
        manifest["metadata"]["name"],
        manifest,
        field_validation="Strict",
    )


REMOVE = object()


def changed(manifest: dict[str, Any], changes: list[tuple[tuple, Any]]) -> dict[str, Any]:
    """A copy of manifest with each (path, new value or REMOVE) applied; ints in a path index lists."""
    manifest = copy.deepcopy(manifest)
    for (*steps, last), new in changes:
        node = manifest
        for step in steps:
            node = node[step]
        if new is REMOVE:
            del node[last]
        else:
            node[last] = new
    return manifest


def case_changes(case: dict[str, Any]) -> list[tuple[tuple, Any]]:
    """A case's `set` and `remove` as changes; its paths are dotted, with numbers for list indices."""

    def split(path: str) -> tuple:
        return tuple(int(step) if step.isdigit() else step for step in path.split("."))

    return [(split(p), v) for p, v in case.get("set", {}).items()] + [
        (split(p), REMOVE) for p in case.get("remove", [])
    ]


def contains(whole: Any, part: Any) -> bool:
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(k in whole and contains(whole[k], v) for k, v in part.items())
    return whole == part


def rejection(call) -> tuple[int, str]:
    with pytest.raises(ApiException) as caught:
        call()
    return caught.value.status, json.loads(caught.value.body)["message"]


def test_crds_are_established_with_their_names(objects, cluster):
    api = client.ApiextensionsV1Api(cluster.api_client)
    for crd in load_crds():
        served = api.read_custom_resource_definition(crd["metadata"]["name"])
        conditions = {c.type: c.status for c in served.status.conditions}
        assert conditions["Established"] == "True"
        assert conditions["NamesAccepted"] == "True"
        assert "NonStructuralSchema" not in conditions
        assert served.status.accepted_names.categories == ["cenas"]
        assert served.status.accepted_names.short_names == crd["spec"]["names"]["shortNames"]


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_is_accepted_strictly(objects, namespace, name):
    manifest = EXAMPLES[name]
    created = create(objects, namespace, manifest)
    assert contains(created, manifest)  # kept as written; the server only added defaults and metadata


def test_defaults_fill_the_small_example(objects, namespace):
    spec = create(objects, namespace, EXAMPLES["nassearch-small.yaml"])["spec"]
    assert spec["objectives"] == [
        {"metric": "Accuracy", "direction": "Maximize"},
        {"metric": "Params", "direction": "Minimize"},
    ]
    assert spec["suspend"] is False
    assert spec["dataset"]["path"] == "/data"
    assert spec["gpus"] == {"max": 2, "resourceName": "nvidia.com/gpu", "powerWatts": 400}
    assert spec["carbon"] == {
        "location": "US-CAL-CISO",
        "policy": "PPO",
        "mode": "Active",
        "decisionIntervalSeconds": 3600,
    }
    trainer = spec["trainer"]
    assert (trainer["fullTrainingEpochs"], trainer["supernetEpochs"], trainer["gpusPerTrial"]) == (200, 50, 1)
    assert (trainer["checkpointIntervalSeconds"], trainer["terminationGracePeriodSeconds"]) == (900, 120)


@pytest.mark.parametrize("case", INVALID, ids=[c["name"] for c in INVALID])
def test_invalid_manifest_is_rejected_naming_the_field(objects, namespace, case):
    manifest = EXAMPLES[case["example"]]
    if case.get("update"):
        current = create(objects, namespace, manifest)
        status, message = rejection(lambda: replace(objects, namespace, changed(current, case_changes(case))))
    else:
        status, message = rejection(lambda: create(objects, namespace, changed(manifest, case_changes(case))))
    assert status == case.get("status", 422), message
    for expected in case["expect"]:
        assert expected in message


def mutations(value: Any, node: dict[str, Any], path: tuple = ()):
    """(path, new value or REMOVE) for every integer made negative, enum given an unknown value and
    required field removed, found by walking the manifest along its schema."""
    if isinstance(value, dict):
        for name in node.get("required", []):
            if name in value:
                yield (*path, name), REMOVE
        for key, child in value.items():
            if key in node.get("properties", {}):
                yield from mutations(child, node["properties"][key], (*path, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from mutations(child, node["items"], (*path, i))
    elif "enum" in node:
        yield path, "NotAValue"
    elif isinstance(value, int) and not isinstance(value, bool):
        yield path, -1


def field_name(path: tuple) -> str:
    return "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in path).lstrip(".")


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_mutated_example_is_rejected(objects, namespace, name):
    manifest = EXAMPLES[name]
    schema = openapi_schema(load_crd(PLURAL[manifest["kind"]]))
    accepted, count = [], 0
    for path, new in mutations(manifest, schema):
        count += 1
        try:
            create(objects, namespace, changed(manifest, [(path, new)]))
            accepted.append(field_name(path))
        except ApiException as error:
            message = json.loads(error.body)["message"]
            if error.status != 422 or field_name(path) not in message:
                accepted.append(f"{field_name(path)}: {error.status} {message}")
    assert count >= 5
    assert accepted == []


def test_suspend_is_the_one_mutable_field_of_a_trial(objects, namespace):
    current = create(objects, namespace, EXAMPLES["nastrial-full-training.yaml"])
    current["spec"]["suspend"] = True
    assert replace(objects, namespace, current)["spec"]["suspend"] is True


def test_status_is_written_only_through_the_status_subresource(objects, namespace):
    manifest = copy.deepcopy(EXAMPLES["nassearch-small.yaml"])
    manifest["status"] = {"trials": {"running": 3}}
    created = create(objects, namespace, manifest)
    assert "status" not in created  # ignored on create
    name = created["metadata"]["name"]
    args = (GROUP, VERSION, namespace, "nassearches", name)

    patched = objects.patch_namespaced_custom_object(*args, {"status": {"trials": {"running": 3}}})
    assert "status" not in patched  # ignored through the main resource
    assert patched["metadata"]["generation"] == 1

    observed = {"observedGeneration": 1, "trials": {"running": 3}, "carbon": {"emittedGrams": 1.5}}
    patched = objects.patch_namespaced_custom_object_status(
        *args, {"status": observed, "spec": {"suspend": True}}
    )
    assert patched["status"]["trials"] == {
        "pending": 0,
        "running": 3,
        "suspended": 0,
        "succeeded": 0,
        "failed": 0,
    }
    assert patched["status"]["carbon"]["emittedGrams"] == 1.5
    assert patched["spec"]["suspend"] is False  # spec is ignored through the status subresource
    assert patched["metadata"]["generation"] == 1  # status writes never bump the generation

    status, message = rejection(
        lambda: objects.patch_namespaced_custom_object_status(*args, {"status": {"trials": {"running": -1}}})
    )
    assert status == 422
    assert "status.trials.running" in message


def test_status_built_from_the_python_types_is_accepted_and_reads_back_equal(objects, namespace):
    created = create(objects, namespace, EXAMPLES["nassearch-realistic.yaml"])
    now = datetime(2026, 11, 23, 1, 2, 3, tzinfo=UTC)
    front = [
        ArchitectureResult(
            trial="cifar10-nb201-full-00001", architecture=CELL, accuracy_percent=94.37, params=1531546
        ),
        ArchitectureResult(
            trial="cifar10-nb201-full-00002", architecture=SMALL_CELL, accuracy_percent=90.1, params=73306
        ),
    ]
    status = NASSearchStatus(
        observed_generation=1,
        start_time=now,
        conditions=[
            Condition(
                type="Ready",
                status=ConditionStatus.TRUE,
                last_transition_time=now,
                reason="Reconciled",
                message="",
            )
        ],
        gpus=GPUCounts(running=4, target=6, sampling=2, evaluation=4),
        trials=TrialCounts(running=4, succeeded=2),
        carbon=CarbonLedger(
            emitted_grams=12.5, energy_joules=1.2e8, counterfactual_grams=30.0, avoided_grams=17.5
        ),
        last_decision=Decision(
            time=now,
            policy=Policy.PPO,
            policy_version="ppo-0.1.0",
            mode=CarbonMode.ACTIVE,
            action=DecisionAction.SCALE_UP,
            target_gpus=6,
            sampling_gpus=2,
            evaluation_gpus=4,
            intensity_grams_per_kilowatt_hour=212.4,
            forecast_generated_at=now,
            reason="LowIntensity",
            message="cheapest hour",
        ),
        best=front[0],
        pareto_front=front,
        hypervolume=0.41,
    )
    written = objects.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        namespace,
        "nassearches",
        created["metadata"]["name"],
        {"status": status.model_dump(mode="json", exclude_none=True)},
        field_validation="Strict",
    )
    assert NASSearch.model_validate(written).status == status


def test_trial_status_built_from_the_python_types_is_accepted_and_reads_back_equal(objects, namespace):
    created = create(objects, namespace, EXAMPLES["nastrial-scoring.yaml"])
    now = datetime(2026, 11, 23, 4, 5, 6, tzinfo=UTC)
    status = NASTrialStatus(
        observed_generation=1,
        conditions=[
            Condition(
                type="Complete",
                status=ConditionStatus.TRUE,
                last_transition_time=now,
                reason="Scored",
                message="3 candidates",
            )
        ],
        attempt=2,
        pod_name="cifar10-nb201-score-00001-2",
        start_time=now,
        completion_time=now,
        progress=Progress(step=3, total_steps=3),
        last_checkpoint=Checkpoint(step=2, time=now, path="cifar10-nb201-score-00001/step-2"),
        energy_joules=5400.0,
        energy_source=EnergySource.ESTIMATE,
        emitted_grams=0.3,
        suspensions=Suspensions(clean=1, unclean=0, lost_work_seconds=0.0),
        result=TrialResult(
            scores=[
                CandidateScore(architecture=a, accuracy_percent=80.0 + i)
                for i, a in enumerate(created["spec"]["candidates"])
            ]
        ),
    )
    written = objects.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        namespace,
        "nastrials",
        created["metadata"]["name"],
        {"status": status.model_dump(mode="json", exclude_none=True)},
        field_validation="Strict",
    )
    assert NASTrial.model_validate(written).status == status


def test_trials_are_listed_by_label_and_deleted_with_their_search(objects, namespace, cluster):
    search = create(objects, namespace, EXAMPLES["nassearch-realistic.yaml"])
    owner = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "NASSearch",
        "name": search["metadata"]["name"],
        "uid": search["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
    for name in ("nastrial-supernet.yaml", "nastrial-scoring.yaml", "nastrial-full-training.yaml"):
        trial = copy.deepcopy(EXAMPLES[name])
        trial["metadata"]["ownerReferences"] = [owner]
        create(objects, namespace, trial)
    listed = objects.list_namespaced_custom_object(
        GROUP, VERSION, namespace, "nastrials", label_selector=f"{LABEL_SEARCH}={search['metadata']['name']}"
    )
    assert len(listed["items"]) == 3
    scoring = objects.list_namespaced_custom_object(
        GROUP, VERSION, namespace, "nastrials", label_selector=f"{LABEL_ROLE}=CandidateScoring"
    )
    assert [t["spec"]["role"] for t in scoring["items"]] == ["CandidateScoring"]

    objects.delete_namespaced_custom_object(
        GROUP, VERSION, namespace, "nassearches", search["metadata"]["name"], propagation_policy="Foreground"
    )
    deadline = time.monotonic() + 60
    while objects.list_namespaced_custom_object(GROUP, VERSION, namespace, "nastrials")["items"]:
        assert time.monotonic() < deadline, "the garbage collector did not delete the search's trials"
        time.sleep(0.2)


def kubectl(cluster, namespace: str, *args: str) -> str:
    return subprocess.run(
        [str(cluster.bin_dir / "kubectl"), "--kubeconfig", str(cluster.kubeconfig), "-n", namespace, *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout


def test_kubectl_get_cenas_lists_both_kinds_with_their_columns(objects, namespace, cluster):
    create(objects, namespace, EXAMPLES["nassearch-small.yaml"])
    create(objects, namespace, EXAMPLES["nastrial-full-training.yaml"])
    out = kubectl(cluster, namespace, "get", "cenas")
    assert "nassearch.cenas.dev/digits-small" in out
    assert "nastrial.cenas.dev/cifar10-nb201-full-00001" in out
    for column in ("READY", "GPUS", "TARGET", "RUNNING", "SUCCEEDED", "CO2-GRAMS", "BEST-ACC", "AGE"):
        assert column in kubectl(cluster, namespace, "get", "nas")
    assert "FullTraining" in kubectl(cluster, namespace, "get", "nast")


def test_kubectl_explain_reads_like_documentation(objects, cluster, namespace):
    out = kubectl(cluster, namespace, "explain", "nassearch.spec.gpus.max")
    assert "The most GPUs the search runs at once" in out
    recursive = kubectl(cluster, namespace, "explain", "nassearch.spec", "--recursive")
    assert "checkpointVolume" in recursive and "decisionIntervalSeconds" in recursive

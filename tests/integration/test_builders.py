"""What the builders produce is accepted by the real API server: trials by the NASTrial CRD, and
trainer pods under a namespace that enforces the `restricted` Pod Security Standard."""

from pathlib import Path

import pytest
import yaml
from kubernetes import client

from cenas_operator.api import GROUP, VERSION, TrialRole
from cenas_operator.api.crds import install_crds
from cenas_operator.builders import build_pod, build_trial
from cenas_operator.config import Settings

EXAMPLES = Path(__file__).resolve().parents[2] / "crds" / "examples"
ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


@pytest.fixture(scope="module")
def objects(cluster) -> client.CustomObjectsApi:
    install_crds(cluster.api_client)
    return client.CustomObjectsApi(cluster.api_client)


# The Pod Security level a pod reaches is set by its volume types: PVCs pass `restricted`, NFS
# `baseline`, hostPath (the small example, for single-node clusters) only `privileged`.
@pytest.mark.parametrize(("example", "level"), [
    ("nassearch-small.yaml", "privileged"), ("nassearch-realistic.yaml", "restricted"),
    ("nassearch-full.yaml", "baseline"),
])
def test_built_trials_and_pods_are_admitted(cluster, namespace, objects, example, level):
    core = client.CoreV1Api(cluster.api_client)
    core.patch_namespace(namespace, {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": level}}})
    search = objects.create_namespaced_custom_object(
        GROUP, VERSION, namespace, "nassearches", yaml.safe_load((EXAMPLES / example).read_text()),
        field_validation="Strict",
    )
    for role, extra in (
        (TrialRole.SUPERNET_TRAINING, {}),
        (TrialRole.FULL_TRAINING, {"architecture": ARCH}),
        (TrialRole.CANDIDATE_SCORING, {"candidates": [ARCH], "supernet_trial": "x-supernet-00000"}),
    ):
        trial = objects.create_namespaced_custom_object(
            GROUP, VERSION, namespace, "nastrials", build_trial(search, role, 1, seed=5, **extra),
            field_validation="Strict",
        )
        pod = build_pod(search, trial, 1, Settings(trainer_service_account="default"))
        # Server-side dry run: full validation and admission (Pod Security included), nothing stored.
        admitted = core.create_namespaced_pod(namespace, pod, dry_run="All", field_validation="Strict")
        assert admitted.metadata.owner_references[0].uid == trial["metadata"]["uid"]
        assert trial["metadata"]["ownerReferences"][0]["uid"] == search["metadata"]["uid"]


def test_a_privileged_pod_is_refused_in_the_same_namespace(cluster, namespace):
    """The namespace really enforces `restricted`: the test above would pass vacuously otherwise."""
    core = client.CoreV1Api(cluster.api_client)
    core.patch_namespace(namespace, {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}})
    pod = {"metadata": {"name": "plain"}, "spec": {"containers": [{"name": "c", "image": "x", "command": ["true"]}]}}
    with pytest.raises(client.ApiException) as refused:
        core.create_namespaced_pod(namespace, pod, dry_run="All")
    assert refused.value.status == 403
    assert "violates PodSecurity" in refused.value.body

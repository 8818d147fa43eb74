"""The chart against the real API server: every ci/*-values.yaml rendered by helm and server-side applied
with strict field validation, the RBAC checked by the API server's own authorizer (SubjectAccessReview),
and `helm install --dry-run=server` with its NOTES.

ServiceMonitor and PrometheusRule (monitoring.coreos.com) have no CRD on the test control plane, and a
home-made permissive CRD would validate nothing, so those two kinds are not applied; the test asserts they
are the only ones left out and that the API server really does not serve their group.
tests/unit/charts/test_promql.py checks their content (PromQL parses, metrics exist)."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from cenas_operator.api.crds import install_crds

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "cenas"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
UNSERVED_GROUP = "monitoring.coreos.com"
CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding"}


def helm(cluster, *args: str) -> str:
    binary = cluster.bin_dir / "helm"
    if not binary.exists():
        pytest.fail(f"{binary} is missing: run `make testbin`")
    result = subprocess.run([str(binary), "--kubeconfig", str(cluster.kubeconfig), *args],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"helm {args}: {result.stderr}"
    return result.stdout


def kubectl(cluster, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(cluster.bin_dir / "kubectl"), "--kubeconfig", str(cluster.kubeconfig), *args],
                          input=stdin, capture_output=True, text=True, timeout=120)


def render(cluster, values: Path, namespace: str, release: str) -> list[dict]:
    out = helm(cluster, "template", release, str(CHART), "-f", str(values), "--namespace", namespace,
               "--kube-version", "1.37.2")
    return [doc for doc in yaml.safe_load_all(out) if doc]


@pytest.fixture(scope="module")
def crds(cluster):
    install_crds(cluster.api_client)


@pytest.fixture
def release(cluster):
    """A unique release name; its cluster-scoped objects are deleted afterwards."""
    name = f"c{uuid.uuid4().hex[:8]}"
    yield name
    rbac = client.RbacAuthorizationV1Api(cluster.api_client)
    for role in rbac.list_cluster_role(label_selector=f"app.kubernetes.io/instance={name}").items:
        rbac.delete_cluster_role(role.metadata.name)
    for binding in rbac.list_cluster_role_binding(label_selector=f"app.kubernetes.io/instance={name}").items:
        rbac.delete_cluster_role_binding(binding.metadata.name)


@pytest.fixture
def extra_namespaces(cluster):
    """Creates the fixed namespaces a values file names (ci-team-a, ...) if missing. They are kept: deleting
    them would leave them Terminating for the next test that names them (the cluster lives for one run)."""
    core = client.CoreV1Api(cluster.api_client)

    def ensure(names: set[str]) -> None:
        existing = {n.metadata.name for n in core.list_namespace().items}
        for name in sorted(names - existing):
            core.create_namespace({"metadata": {"name": name, "labels": {"cenas.dev/test": "true"}}})

    return ensure


def apply(cluster, docs: list[dict]) -> None:
    result = kubectl(cluster, "apply", "--server-side", "--field-manager=cenas-chart-test", "--validate=strict",
                     "-f", "-", stdin=yaml.safe_dump_all(docs))
    assert result.returncode == 0, result.stderr


def served_groups(cluster) -> set[str]:
    groups = client.ApisApi(cluster.api_client).get_api_versions().groups
    return {g.name for g in groups}


@pytest.mark.parametrize("values", CI_VALUES, ids=[p.name for p in CI_VALUES])
def test_rendered_chart_is_accepted_strictly(cluster, crds, namespace, release, extra_namespaces, values) -> None:
    docs = render(cluster, values, namespace, release)
    extra_namespaces({d["metadata"]["namespace"] for d in docs if d["kind"] not in CLUSTER_SCOPED} - {namespace})
    assert UNSERVED_GROUP not in served_groups(cluster)
    applied = [d for d in docs if not d["apiVersion"].startswith(UNSERVED_GROUP + "/")]
    left_out = {d["kind"] for d in docs} - {d["kind"] for d in applied}
    assert left_out <= {"ServiceMonitor", "PrometheusRule"}
    apply(cluster, applied)
    apply(cluster, applied)  # idempotent: a GitOps re-sync changes nothing and conflicts with nothing
    apps = client.AppsV1Api(cluster.api_client)
    operator = apps.read_namespaced_deployment(f"{release}-cenas-operator", namespace)
    assert operator.spec.strategy.type == "Recreate"
    assert operator.spec.replicas == 1


def test_strict_validation_would_catch_a_misspelt_field(cluster, namespace, release) -> None:
    """The apply above means something: the same path rejects an unknown field."""
    docs = render(cluster, CHART / "ci" / "default-values.yaml", namespace, release)
    service = next(d for d in docs if d["kind"] == "Service")
    service["spec"]["portz"] = []
    result = kubectl(cluster, "apply", "--server-side", "--field-manager=cenas-chart-test", "--validate=strict",
                     "-f", "-", stdin=yaml.safe_dump(service))
    assert result.returncode != 0
    assert ".spec.portz: field not declared in schema" in result.stderr


def can(cluster, namespace: str, account: str, verb: str, resource: str, *, in_namespace: str | None,
        group: str = "", subresource: str = "") -> bool:
    review = client.AuthorizationV1Api(cluster.api_client).create_subject_access_review({
        "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "spec": {
            "user": f"system:serviceaccount:{namespace}:{account}",
            "groups": ["system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"],
            "resourceAttributes": {"namespace": in_namespace or "", "verb": verb, "group": group,
                                   "resource": resource, "subresource": subresource},
        },
    })
    return review.status.allowed


OPERATOR_MAY = [
    ("get", "nassearches", "cenas.dev", ""), ("watch", "nassearches", "cenas.dev", ""),
    ("patch", "nassearches", "cenas.dev", ""), ("patch", "nassearches", "cenas.dev", "status"),
    ("create", "nastrials", "cenas.dev", ""), ("delete", "nastrials", "cenas.dev", ""),
    ("patch", "nastrials", "cenas.dev", "status"), ("create", "pods", "", ""), ("delete", "pods", "", ""),
    ("watch", "pods", "", ""), ("create", "events", "", ""),
]
OPERATOR_MAY_NOT = [
    ("update", "nassearches", "cenas.dev", ""), ("delete", "nassearches", "cenas.dev", ""),
    ("create", "nassearches", "cenas.dev", ""), ("get", "secrets", "", ""), ("update", "pods", "", ""),
    ("create", "pods", "", "exec"), ("create", "deployments", "apps", ""), ("create", "rolebindings",
                                                                            "rbac.authorization.k8s.io", ""),
]


def test_rbac_as_the_api_server_sees_it(cluster, crds, namespace, release) -> None:
    docs = render(cluster, CHART / "ci" / "default-values.yaml", namespace, release)
    apply(cluster, [d for d in docs if not d["apiVersion"].startswith(UNSERVED_GROUP + "/")])
    operator = f"{release}-cenas-operator"
    for verb, resource, group, sub in OPERATOR_MAY:
        assert can(cluster, namespace, operator, verb, resource, in_namespace="elsewhere", group=group,
                   subresource=sub), (verb, resource, sub)
    for verb, resource, group, sub in OPERATOR_MAY_NOT:
        assert not can(cluster, namespace, operator, verb, resource, in_namespace="elsewhere", group=group,
                       subresource=sub), (verb, resource, sub)
    for resource, group in (("customresourcedefinitions", "apiextensions.k8s.io"), ("namespaces", "")):
        assert can(cluster, namespace, operator, "watch", resource, in_namespace=None, group=group)
        assert not can(cluster, namespace, operator, "delete", resource, in_namespace=None, group=group)


def test_namespaced_install_is_confined_to_its_namespaces(cluster, crds, namespace, release,
                                                          extra_namespaces) -> None:
    docs = render(cluster, CHART / "ci" / "namespaced-values.yaml", namespace, release)
    extra_namespaces({"ci-team-a", "ci-team-b"})
    apply(cluster, [d for d in docs if not d["apiVersion"].startswith(UNSERVED_GROUP + "/")])
    operator = f"{release}-cenas-operator"
    assert can(cluster, namespace, operator, "create", "pods", in_namespace="ci-team-a")
    assert can(cluster, namespace, operator, "patch", "nastrials", in_namespace="ci-team-b", group="cenas.dev")
    assert not can(cluster, namespace, operator, "create", "pods", in_namespace="default")
    assert not can(cluster, namespace, operator, "list", "nassearches", in_namespace=None, group="cenas.dev")
    # the trainer ServiceAccount of ci-team-a: its NASTrial status, nothing else
    trainer = ("ci-team-a", "nas-trainer")
    assert can(cluster, *trainer, "patch", "nastrials", in_namespace="ci-team-a", group="cenas.dev",
               subresource="status")
    assert not can(cluster, *trainer, "patch", "nastrials", in_namespace="ci-team-a", group="cenas.dev")
    assert not can(cluster, *trainer, "patch", "nastrials", in_namespace="ci-team-b", group="cenas.dev",
                   subresource="status")
    assert not can(cluster, *trainer, "list", "pods", in_namespace="ci-team-a")


def test_helm_install_dry_run_against_the_server_prints_the_notes(cluster, crds, namespace) -> None:
    out = helm(cluster, "install", f"n{uuid.uuid4().hex[:6]}", str(CHART), "--namespace", namespace,
               "--dry-run=server", "--skip-crds")
    assert "NOTES:" in out
    assert "kubectl apply --server-side --force-conflicts -f <chart>/crds/" in out
    assert "reconciles NASSearches in every namespace" in out


def as_service_account(cluster, namespace: str, account: str) -> client.ApiClient:
    """An API client authenticated with a real token of the ServiceAccount (TokenRequest), as in a pod."""
    token = client.CoreV1Api(cluster.api_client).create_namespaced_service_account_token(
        account, namespace, {"spec": {"expirationSeconds": 600}}).status.token
    base = cluster.api_client.configuration
    config = client.Configuration()
    config.host, config.ssl_ca_cert, config.verify_ssl = base.host, base.ssl_ca_cert, base.verify_ssl
    config.api_key = {"authorization": f"Bearer {token}"}
    return client.ApiClient(config)


def forbidden(call) -> bool:
    try:
        call()
    except client.ApiException as exc:
        return exc.status == 403
    return False


def test_chart_service_accounts_do_their_jobs_with_real_tokens(cluster, crds, namespace, release) -> None:
    """The operator's and the trainer's actual API calls, made with tokens of the chart's ServiceAccounts
    and the rendered RBAC (the operator process itself comes with the operator issue)."""
    docs = render(cluster, CHART / "ci" / "default-values.yaml", namespace, release)
    apply(cluster, [d for d in docs if not d["apiVersion"].startswith(UNSERVED_GROUP + "/")])
    trainer_binding = {  # watchNamespaces is empty: bind the trainer ClusterRole by hand (OPERATIONS.md)
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "cenas-trainer", "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": f"{release}-cenas-trainer"},
        "subjects": [{"kind": "ServiceAccount", "name": "cenas-trainer", "namespace": namespace}],
    }
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "cenas-trainer", "namespace": namespace}}
    apply(cluster, [account, trainer_binding])
    examples = REPO / "crds" / "examples"
    search = yaml.safe_load((examples / "nassearch-small.yaml").read_text())
    admin = client.CustomObjectsApi(cluster.api_client)
    admin.create_namespaced_custom_object("cenas.dev", "v1alpha1", namespace, "nassearches", search)

    operator = client.CustomObjectsApi(as_service_account(cluster, namespace, f"{release}-cenas-operator"))
    found = operator.list_cluster_custom_object("cenas.dev", "v1alpha1", "nassearches")
    assert search["metadata"]["name"] in {s["metadata"]["name"] for s in found["items"]}
    name = search["metadata"]["name"]
    operator.patch_namespaced_custom_object_status("cenas.dev", "v1alpha1", namespace, "nassearches", name,
                                                   {"status": {"observedGeneration": 1}})
    operator.patch_namespaced_custom_object("cenas.dev", "v1alpha1", namespace, "nassearches", name,
                                            {"metadata": {"finalizers": ["kopf.zalando.org/KopfFinalizerMarker"]}})
    trial = yaml.safe_load((examples / "nastrial-full-training.yaml").read_text())
    trial["metadata"]["namespace"] = namespace
    operator.create_namespaced_custom_object("cenas.dev", "v1alpha1", namespace, "nastrials", trial)
    trial_name = trial["metadata"]["name"]
    core = client.CoreV1Api(as_service_account(cluster, namespace, f"{release}-cenas-operator"))
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe", "namespace": namespace},
           "spec": {"serviceAccountName": "cenas-trainer", "nodeSelector": {"cenas.dev/no-such-node": "x"},
                    "containers": [{"name": "c", "image": "none", "command": ["true"]}]}}
    core.create_namespaced_pod(namespace, pod)
    core.create_namespaced_event(namespace, {
        "metadata": {"generateName": "cenas-"}, "involvedObject": {"kind": "NASSearch", "name": name,
                                                                   "namespace": namespace},
        "reason": "Reconciled", "message": "test", "type": "Normal"})
    core.delete_namespaced_pod("probe", namespace)
    # ... and no more than that
    assert forbidden(lambda: operator.replace_namespaced_custom_object(
        "cenas.dev", "v1alpha1", namespace, "nassearches", name,
        operator.get_namespaced_custom_object("cenas.dev", "v1alpha1", namespace, "nassearches", name)))
    assert forbidden(lambda: core.list_namespaced_secret(namespace))

    trainer = client.CustomObjectsApi(as_service_account(cluster, namespace, "cenas-trainer"))
    trainer.patch_namespaced_custom_object_status("cenas.dev", "v1alpha1", namespace, "nastrials", trial_name,
                                                  {"status": {"progress": {"step": 10, "totalSteps": 100}}})
    assert forbidden(lambda: trainer.patch_namespaced_custom_object(
        "cenas.dev", "v1alpha1", namespace, "nastrials", trial_name, {"spec": {"suspend": True}}))
    assert forbidden(lambda: trainer.list_namespaced_custom_object("cenas.dev", "v1alpha1", namespace, "nastrials"))
    admin.patch_namespaced_custom_object("cenas.dev", "v1alpha1", namespace, "nassearches", name,
                                         {"metadata": {"finalizers": None}})

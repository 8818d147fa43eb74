"""Least-privilege RBAC as rendered: exact rules, no wildcards, bindings scoped by operator.watchNamespaces.
(tests/integration/test_chart.py asks the real API server's authorizer the same questions.)"""

from __future__ import annotations

OPERATOR_RULES = {
    ("cenas.dev", "nassearches"): {"get", "list", "watch", "patch"},
    ("cenas.dev", "nassearches/status"): {"get", "patch"},
    ("cenas.dev", "nastrials"): {"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"},
    ("cenas.dev", "nastrials/status"): {"get", "update", "patch"},
    ("", "pods"): {"get", "list", "watch", "create", "delete", "deletecollection"},
    ("", "configmaps"): {"get", "create", "update", "delete"},  # each search's <name>-state
    ("", "events"): {"create", "patch"},
}
OPERATOR_CLUSTER_RULES = {
    ("apiextensions.k8s.io", "customresourcedefinitions"): {"list", "watch"},
    ("", "namespaces"): {"list", "watch"},
}
TRAINER_RULES = {("cenas.dev", "nastrials/status"): {"get", "patch"}}


def _rules(role: dict) -> dict[tuple[str, str], set[str]]:
    table: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        assert "resourceNames" not in rule and "nonResourceURLs" not in rule
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                table.setdefault((group, resource), set()).update(rule["verbs"])
    return table


def test_no_wildcards_anywhere(chart, ci_values) -> None:
    for role in chart.find(chart.render(ci_values), "ClusterRole") + chart.find(chart.render(ci_values), "Role"):
        for rule in role["rules"]:
            for field in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule[field], f"{role['metadata']['name']}: {field} has *"


def test_operator_rules_are_exactly_what_it_needs(chart) -> None:
    docs = chart.render()
    assert _rules(chart.one(docs, "ClusterRole", "-operator")) == OPERATOR_RULES
    assert _rules(chart.one(docs, "ClusterRole", "-operator-cluster")) == OPERATOR_CLUSTER_RULES
    # the operator may never write a search's spec: no update on nassearches (patch is for kopf's metadata)
    assert "update" not in OPERATOR_RULES[("cenas.dev", "nassearches")]


def test_trainer_may_only_patch_trial_status(chart) -> None:
    assert _rules(chart.one(chart.render(), "ClusterRole", "-trainer")) == TRAINER_RULES


def test_cluster_wide_by_default(chart) -> None:
    docs = chart.render(namespace="ops")
    bindings = {b["metadata"]["name"]: b for b in chart.find(docs, "ClusterRoleBinding")}
    assert set(bindings) == {"cenas-operator", "cenas-operator-cluster"}
    account = chart.one(docs, "ServiceAccount", "-operator")["metadata"]
    for binding in bindings.values():
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                      "name": binding["metadata"]["name"]}
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account["name"], "namespace": "ops"}]
    assert chart.find(docs, "RoleBinding") == []  # no trainer namespaces known: bound by hand (documented)


def test_watched_namespaces_get_role_bindings_instead(chart) -> None:
    docs = chart.render(chart.path / "ci" / "namespaced-values.yaml", namespace="ops")
    assert [b["metadata"]["name"] for b in chart.find(docs, "ClusterRoleBinding")] == ["cenas-operator-cluster"]
    operator = {b["metadata"]["namespace"]: b for b in chart.find(docs, "RoleBinding", "-operator")}
    assert set(operator) == {"ci-team-a", "ci-team-b"}
    for binding in operator.values():
        assert binding["roleRef"]["name"] == "cenas-operator"
        assert binding["subjects"][0]["namespace"] == "ops"
    trainer = {b["metadata"]["namespace"]: b for b in chart.find(docs, "RoleBinding", "-trainer")}
    assert set(trainer) == {"ci-team-a", "ci-team-b"}
    accounts = {(a["metadata"]["namespace"], a["metadata"]["name"]) for a in chart.find(docs, "ServiceAccount")}
    for ns, binding in trainer.items():
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "nas-trainer", "namespace": ns}]
        assert (ns, "nas-trainer") in accounts


def test_explicit_trainer_namespaces_win(chart) -> None:
    docs = chart.render(chart.path / "ci" / "external-forecaster-values.yaml")
    assert [b["metadata"]["namespace"] for b in chart.find(docs, "RoleBinding", "-trainer")] == ["ci-team-a"]


def test_rbac_can_be_left_to_the_platform(chart) -> None:
    docs = chart.render(sets=("rbac.create=false",))
    kinds = {d["kind"] for d in docs}
    assert not kinds & {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}


def test_operator_runs_as_its_bound_service_account(chart, ci_values) -> None:
    docs = chart.render(ci_values)
    pod = chart.one(docs, "Deployment", "-operator")["spec"]["template"]["spec"]
    binding = chart.one(docs, "ClusterRoleBinding", "-operator-cluster")
    assert pod["serviceAccountName"] == binding["subjects"][0]["name"]
    assert pod.get("automountServiceAccountToken", True) is True

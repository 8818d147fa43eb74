"""`helm lint` and `helm template` for every ci/*-values.yaml, the schema, labels and the CRD copies."""

from __future__ import annotations

import json

import pytest
import yaml

RECOMMENDED = ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
               "app.kubernetes.io/managed-by", "helm.sh/chart", "app.kubernetes.io/part-of")
CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "Namespace"}


def test_lint_strict(chart, ci_values) -> None:
    result = chart.run_helm("lint", str(chart.path), "--strict", "-f", str(ci_values),
                            "--kube-version", "1.37.2")
    assert "0 chart(s) failed" in result.stdout


def test_template_renders_labelled_named_objects(chart, ci_values) -> None:
    docs = chart.render(ci_values, namespace="ns-x", release="rel")
    assert {"Deployment", "ServiceAccount", "ClusterRole", "Service"} <= {d["kind"] for d in docs}
    names = set()
    for doc in docs:
        meta = doc["metadata"]
        where = f"{doc['kind']}/{meta['name']}"
        assert len(meta["name"]) <= 63, where
        for label in RECOMMENDED:
            assert label in meta.get("labels", {}), f"{where} lacks {label}"
        assert meta["labels"]["app.kubernetes.io/instance"] == "rel"
        if doc["kind"] in CLUSTER_SCOPED:
            assert "namespace" not in meta, where
        else:
            assert meta.get("namespace"), f"{where} has no namespace"
        key = (doc["kind"], meta.get("namespace"), meta["name"])
        assert key not in names, f"duplicate {key}"
        names.add(key)


def _value_paths(values: dict, prefix: str = "") -> set[str]:
    paths = set()
    for key, value in values.items():
        path = f"{prefix}{key}"
        paths.add(path)
        if isinstance(value, dict) and value and key not in FREE_MAPS:
            paths |= _value_paths(value, path + ".")
    return paths


def _schema_paths(schema: dict, prefix: str = "") -> set[str]:
    paths = set()
    for key, sub in schema.get("properties", {}).items():
        path = f"{prefix}{key}"
        paths.add(path)
        if key not in FREE_MAPS:
            paths |= _schema_paths(sub, path + ".")
    return paths


# maps whose keys are the user's (labels, resources, live locations), not the chart's
FREE_MAPS = {"resources", "labels", "annotations", "commonLabels", "liveLocations", "nodeSelector", "affinity",
             "podAnnotations", "podLabels", "alertLabels"}


def test_schema_and_values_describe_the_same_keys(chart) -> None:
    """Every value has a schema entry (so none escapes validation) and the schema has no stale entry."""
    schema = json.loads((chart.path / "values.schema.json").read_text())
    defaults = yaml.safe_load((chart.path / "values.yaml").read_text())
    assert _value_paths(defaults) == _schema_paths(schema)
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize(("setting", "message"), [
    ("operator.unknownKey=1", "additional properties 'unknownKey' not allowed"),
    ("operator.config.defaultPolicy=Greedy", "defaultPolicy"),
    ("operator.healthPort=0", "healthPort"),
    ("forecaster.liveLocations.DE.source=carbonapi", "source"),
    ("operator.watchNamespaces[0]=Not_A_Namespace", "watchNamespaces"),
    ("operator.extraArgs[0]=--namespace", "extraArgs"),
    ("operator.extraArgs[0]=-vA", "extraArgs"),
])
def test_schema_rejects_wrong_values(chart, setting, message) -> None:
    result = chart.run_helm("template", "rel", str(chart.path), "--kube-version", "1.37.2", "--set", setting,
                            check=False)
    assert result.returncode != 0
    assert message in result.stderr


def test_external_forecaster_url_is_required_without_the_forecaster(chart) -> None:
    result = chart.run_helm("template", "rel", str(chart.path), "--kube-version", "1.37.2",
                            "--set", "forecaster.enabled=false", check=False)
    assert result.returncode != 0
    assert "operator.config.forecasterUrl must be set" in result.stderr


def test_chart_crds_are_byte_identical_to_the_source(chart) -> None:
    source = {p.name: p.read_bytes() for p in (chart.repo / "crds").glob("*.yaml")}
    copies = {p.name: p.read_bytes() for p in (chart.path / "crds").glob("*.yaml")}
    assert set(copies) == set(source), "charts/cenas/crds/ must hold exactly the files of crds/ (not examples/)"
    for name, data in source.items():
        assert copies[name] == data, f"charts/cenas/crds/{name} differs: cp crds/*.yaml charts/cenas/crds/"


def test_every_value_is_documented(chart) -> None:
    """Each key line of values.yaml is preceded by a comment (directly, or for the first key of a block)."""
    lines = (chart.path / "values.yaml").read_text().splitlines()
    undocumented = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or ":" not in stripped or stripped.startswith("- "):
            continue
        key, _, rest = stripped.partition(":")
        is_block = rest.strip() == ""
        previous = lines[i - 1].strip() if i else ""
        # a block (`operator:`) may be introduced by its children's comments; leaves need their own
        if not is_block and not previous.startswith("#"):
            undocumented.append(key)
    assert undocumented == []

"""The Python types in cenas_operator.api mirror the CRDs exactly, and the check notices when not."""

import copy

import pytest

from cenas_operator.api import nassearch, nastrial
from cenas_operator.api.drift import resource_drift

MODELS = {
    "nassearches": (nassearch.NASSearch, nassearch.NASSearchSpec, nassearch.NASSearchStatus),
    "nastrials": (nastrial.NASTrial, nastrial.NASTrialSpec, nastrial.NASTrialStatus),
}


@pytest.mark.parametrize("plural", sorted(MODELS))
def test_python_types_match_the_crd(schemas, plural):
    assert resource_drift(*MODELS[plural], schemas[plural]) == []


def _spec(schema):
    return schema["properties"]["spec"]["properties"]


MUTATIONS = {
    "bound": (lambda s: _spec(s)["gpus"]["properties"]["max"].update(maximum=10), "spec.gpus.max: maximum"),
    "enum": (
        lambda s: _spec(s)["carbon"]["properties"]["policy"]["enum"].append("Greedy"),
        "spec.carbon.policy: enum",
    ),
    "default": (lambda s: _spec(s)["suspend"].update(default=True), "spec.suspend: default"),
    "removed": (
        lambda s: _spec(s)["carbon"]["properties"].pop("mode"),
        "spec.carbon.mode: in Python but not",
    ),
    "added": (
        lambda s: _spec(s)["gpus"]["properties"].update(min={"type": "integer"}),
        "spec.gpus.min: in the CRD",
    ),
    "required": (lambda s: _spec(s)["budget"].update(required=["deadline"]), "spec.budget: required"),
    "type": (
        lambda s: _spec(s)["gpus"]["properties"]["powerWatts"].update(type="number"),
        "powerWatts: type",
    ),
    "quantity": (
        lambda s: _spec(s)["trainer"]["properties"]["resources"]["properties"]["limits"]["properties"][
            "cpu"
        ].update(maxLength=8),
        "limits.cpu: maxLength",
    ),
    "format": (
        lambda s: _spec(s)["budget"]["properties"]["deadline"].pop("format"),
        "spec.budget.deadline: format",
    ),
    "status": (
        lambda s: s["properties"]["status"]["properties"]["trials"]["properties"].pop("failed"),
        "status.trials.failed",
    ),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_drift_is_reported_with_the_field(schemas, mutation):
    mutate, expected = MUTATIONS[mutation]
    schema = copy.deepcopy(schemas["nassearches"])
    mutate(schema)
    problems = resource_drift(*MODELS["nassearches"], schema)
    assert len(problems) == 1
    assert expected in problems[0]

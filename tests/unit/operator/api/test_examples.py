"""The examples in crds/examples parse into the Python types and together use every field.

That the API server accepts them is tests/integration/test_crds.py's job.
"""

import pytest

from cenas_operator.api import NASSearch, NASTrial, TrialRole
from cenas_spaces import parse_arch

from .conftest import EXAMPLES, walk

MODELS = {"NASSearch": NASSearch, "NASTrial": NASTrial}


@pytest.mark.parametrize("name", [p.name for p in EXAMPLES])
def test_example_round_trips_through_the_python_type(examples, name):
    manifest = examples[name]
    obj = MODELS[manifest["kind"]].model_validate(manifest)
    assert obj.model_dump(mode="json", exclude_unset=True) == manifest


def _used(value, path=""):
    yield path
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _used(child, f"{path}.{key}")
    elif isinstance(value, list):
        for child in value:
            yield from _used(child, f"{path}[]")


def _spec_fields(schema):
    return {path for path, node in walk(schema["properties"]["spec"], ".spec") if "{}" not in path}


def test_full_example_uses_every_spec_field_but_the_alternative_volume_source(examples, schemas):
    used = set(_used(examples["nassearch-full.yaml"]))
    unused = _spec_fields(schemas["nassearches"]) - used
    # A volume has exactly one source; the full example uses nfs and persistentVolumeClaim.
    assert unused == {
        path
        for path in unused
        if ".hostPath" in path or "Volume.nfs" in path or "volume.persistentVolumeClaim" in path
    }
    assert any(".hostPath" in p for p in set(_used(examples["nassearch-small.yaml"])))


def test_trial_examples_cover_every_role_and_spec_field(examples, schemas):
    trials = [m for m in examples.values() if m["kind"] == "NASTrial"]
    assert {t["spec"]["role"] for t in trials} == set(TrialRole)
    used = {path for t in trials for path in _used(t)}
    assert _spec_fields(schemas["nastrials"]) <= used


def test_example_architectures_are_valid_nb201_cells(examples):
    for manifest in examples.values():
        spec = manifest["spec"]
        for arch in spec.get("candidates", []) + [spec[k] for k in ("architecture",) if k in spec]:
            assert str(parse_arch(arch)) == arch

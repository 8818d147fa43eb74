from pathlib import Path

import pytest
import yaml

from cenas_operator.api import LABEL_ROLE, LABEL_SEARCH, NASSearch, NASTrial, TrialRole
from cenas_operator.builders import LABEL_TRIAL, build_pod, build_trial, pod_name, trainer_args, trial_name
from cenas_operator.config import Settings

EXAMPLES = Path(__file__).resolve().parents[3] / "crds" / "examples"
ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
SETTINGS = Settings()


def search_from(example: str) -> dict:
    obj = yaml.safe_load((EXAMPLES / example).read_text())
    obj["metadata"] |= {"namespace": "team-a", "uid": "search-uid"}
    return obj


def with_uid(trial: dict) -> dict:
    trial["metadata"]["uid"] = "trial-uid"
    return trial


def test_trial_names_fit_a_label_value_for_the_longest_search_name():
    name = trial_name("s" * 40, TrialRole.CANDIDATE_SCORING, 99999)
    assert len(name) <= 63
    assert len(pod_name(name, 12)) <= 253


def test_full_training_trial_is_owned_labelled_and_valid():
    search = search_from("nassearch-realistic.yaml")
    trial = build_trial(search, TrialRole.FULL_TRAINING, 7, seed=3, architecture=ARCH)
    assert trial["metadata"]["name"] == f"{search['metadata']['name']}-full-00007"
    assert trial["metadata"]["ownerReferences"] == [{
        "apiVersion": "cenas.dev/v1alpha1", "kind": "NASSearch", "name": search["metadata"]["name"],
        "uid": "search-uid", "controller": True, "blockOwnerDeletion": True,
    }]
    labels = trial["metadata"]["labels"]
    assert (labels[LABEL_SEARCH], labels[LABEL_ROLE]) == (search["metadata"]["name"], "FullTraining")
    parsed = NASTrial.model_validate(trial)
    assert parsed.spec.architecture == ARCH
    assert parsed.spec.epochs == search["spec"]["trainer"].get("fullTrainingEpochs", 200)


def test_scoring_trial_args_list_every_candidate_and_no_epochs():
    search = search_from("nassearch-small.yaml")
    trial = with_uid(build_trial(search, TrialRole.CANDIDATE_SCORING, 1, seed=0, candidates=[ARCH, ARCH],
                                 supernet_trial="digits-small-supernet-00000"))
    args = trainer_args(NASSearch.model_validate(search), NASTrial.model_validate(trial), SETTINGS)
    assert args[0] == "score"
    assert args.count("--arch") == 2
    assert "--epochs" not in args
    assert args[args.index("--supernet-trial") + 1] == "digits-small-supernet-00000"
    assert "--data-dir" not in args  # digits ships with scikit-learn


def test_pod_requests_gpus_mounts_volumes_and_is_restricted():
    search = search_from("nassearch-full.yaml")
    trial = with_uid(build_trial(search, TrialRole.FULL_TRAINING, 1, seed=1, architecture=ARCH))
    pod = build_pod(search, trial, 2, SETTINGS)
    spec = search["spec"]
    [container] = pod["spec"]["containers"]
    assert pod["metadata"]["name"] == f"{trial['metadata']['name']}-a2"
    assert pod["metadata"]["labels"][LABEL_TRIAL] == trial["metadata"]["name"]
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "NASTrial"
    gpu_resource = spec["gpus"].get("resourceName", "nvidia.com/gpu")
    assert container["resources"]["limits"][gpu_resource] == str(trial["spec"]["gpus"])
    assert container["command"] == ["python", "-m", "cenas_trainer"]
    assert container["args"][0] == "train"
    assert pod["spec"]["terminationGracePeriodSeconds"] == spec["trainer"]["terminationGracePeriodSeconds"]
    assert pod["spec"]["restartPolicy"] == "Never"
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["dataset"]["mountPath"] == spec["dataset"]["path"] and mounts["dataset"]["readOnly"]
    assert mounts["checkpoints"]["mountPath"] == SETTINGS.checkpoint_mount_path
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["TMPDIR"] == mounts["scratch"]["mountPath"]  # writable scratch on a read-only root
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]},
    }
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert pod["spec"]["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    if spec["gpus"].get("nodeSelector"):
        assert pod["spec"]["nodeSelector"] == spec["gpus"]["nodeSelector"]


@pytest.mark.parametrize("example", ["nassearch-small.yaml", "nassearch-realistic.yaml", "nassearch-full.yaml"])
def test_every_example_builds_pods_for_every_role(example):
    search = search_from(example)
    for role, extra in (
        (TrialRole.SUPERNET_TRAINING, {}),
        (TrialRole.FULL_TRAINING, {"architecture": ARCH}),
        (TrialRole.CANDIDATE_SCORING, {"candidates": [ARCH], "supernet_trial": "x-supernet-00000"}),
    ):
        trial = with_uid(build_trial(search, role, 0, seed=0, **extra))
        pod = build_pod(search, trial, 0, SETTINGS)
        assert pod["spec"]["containers"][0]["args"][0] in ("supernet", "train", "score")


@pytest.mark.parametrize("role", list(TrialRole))
def test_the_trainer_accepts_the_arguments_of_every_role(role):
    """The contract between the two packages: the trainer's own parser reads what the builder writes."""
    from cenas_trainer.config import build_parser

    search = search_from("nassearch-small.yaml")
    extra = {TrialRole.FULL_TRAINING: {"architecture": ARCH},
             TrialRole.CANDIDATE_SCORING: {"candidates": [ARCH], "supernet_trial": "digits-small-supernet-00000"},
             TrialRole.SUPERNET_TRAINING: {}}[role]
    trial = with_uid(build_trial(search, role, 0, seed=1, **extra))
    args = trainer_args(NASSearch.model_validate(search), NASTrial.model_validate(trial), SETTINGS)
    parsed = build_parser().parse_args(args)
    assert parsed.mode == args[0] and parsed.trial == trial["metadata"]["name"]
    assert parsed.report_interval_seconds == SETTINGS.trainer_report_interval_seconds

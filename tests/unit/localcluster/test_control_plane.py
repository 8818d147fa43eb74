import yaml

from cenas_localcluster.control_plane import kwok_configuration


def test_kwok_gets_a_pod_worker_per_fake_node_within_bounds():
    def options(nodes: int) -> dict:
        doc = yaml.safe_load(kwok_configuration(nodes))
        assert doc["kind"] == "KwokConfiguration" and doc["apiVersion"] == "config.kwok.x-k8s.io/v1alpha1"
        return doc["options"]

    assert options(200)["podPlayStageParallelism"] == 200
    assert options(1)["podPlayStageParallelism"] == 4  # never below kwok's own default
    assert options(1000)["podPlayStageParallelism"] == 256
    assert options(200)["nodePlayStageParallelism"] == 64

from cenas_localcluster.nodes import AGENT_LABEL, GPU_RESOURCE, KWOK_TAINT, build_gpu_node, node_names


def test_node_names_are_numbered():
    assert node_names(3) == ["gpu-node-0", "gpu-node-1", "gpu-node-2"]


def test_gpu_node_is_ready_and_advertises_gpus():
    node = build_gpu_node("gpu-node-0", 8)
    assert node["status"]["allocatable"][GPU_RESOURCE] == "8"
    assert node["status"]["capacity"] == node["status"]["allocatable"]
    assert node["status"]["allocatable"] is not node["status"]["capacity"]
    assert node["metadata"]["labels"][AGENT_LABEL] == "true"
    assert [c["status"] for c in node["status"]["conditions"] if c["type"] == "Ready"] == ["True"]


def test_kwok_node_is_left_for_kwok_to_initialise():
    node = build_gpu_node("kwok-node-0", 8, kwok=True)
    assert node["metadata"]["labels"]["type"] == "kwok"
    assert AGENT_LABEL not in node["metadata"]["labels"]
    assert node["status"]["conditions"] == []
    assert node["spec"]["taints"] == [KWOK_TAINT]

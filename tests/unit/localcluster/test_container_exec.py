from cenas_localcluster.container_exec import mount_order


def test_a_target_that_hides_another_source_is_mounted_last():
    binds = [
        ["/srv/empty/tmp-volume", "/tmp", False],
        ["/tmp/pytest/ckpt", "/checkpoints", False],
        ["/tmp/pytest/pod/termination-log", "/dev/termination-log", False],
        ["/data/digits", "/data", True],
    ]
    ordered = mount_order(binds)
    assert ordered[-1][1] == "/tmp"
    assert [b[1] for b in ordered[:-1]] == ["/checkpoints", "/dev/termination-log", "/data"]


def test_unrelated_targets_keep_their_order():
    binds = [["/a", "/x", False], ["/b", "/y", False]]
    assert mount_order(binds) == binds

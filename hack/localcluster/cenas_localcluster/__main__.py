"""python -m cenas_localcluster {up,down,status,demo}: the local control plane for tests and the demo."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from cenas_localcluster.control_plane import ClusterConfig, ClusterState, start_cluster, stop_cluster


def up(args: argparse.Namespace) -> int:
    began = time.monotonic()
    state = start_cluster(ClusterConfig(
        state_dir=args.state_dir, bin_dir=args.bin_dir, nodes=args.nodes, gpus_per_node=args.gpus_per_node,
        kwok_nodes=args.kwok_nodes,
    ))
    print(f"cluster ready in {time.monotonic() - began:.1f}s: {state.server}")
    print(f"  nodes: {', '.join(state.nodes)} ({args.gpus_per_node} nvidia.com/gpu each)")
    if state.kwok_nodes:
        print(f"  kwok nodes (pods only pretend to run): {len(state.kwok_nodes)}")
    print(f"  export KUBECONFIG={state.kubeconfig}")
    print(f"  logs: {state.state_dir / 'logs'}; stop with `make cluster-down`")
    return 0


def down(args: argparse.Namespace) -> int:
    stopped = stop_cluster(args.state_dir)
    print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")
    return 0


def status(args: argparse.Namespace) -> int:
    state = ClusterState.load(args.state_dir.resolve())
    if state is None:
        print("no local cluster")
        return 1
    from cenas_localcluster import processes

    for record in state.processes:
        print(f"{record.name:24} pid {record.pid:<8} {'running' if processes.is_alive(record) else 'DEAD'}")
    return 0 if state.all_alive() else 1


def demo(args: argparse.Namespace) -> int:
    state = ClusterState.load(args.state_dir.resolve())
    if state is None or not state.all_alive():
        print("the local cluster is not running: `make cluster-up` first", file=sys.stderr)
        return 1
    from cenas_localcluster.demo import run_demo

    return run_demo(state, Path.cwd(), args.out_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cenas_localcluster", description=__doc__)
    parser.add_argument("--state-dir", type=Path, default=Path(".localcluster"))
    sub = parser.add_subparsers(dest="command", required=True)
    p_up = sub.add_parser("up", help="start etcd, kube-apiserver, kube-scheduler, kube-controller-manager, node agent")
    p_up.add_argument("--bin-dir", type=Path, default=Path(".testbin"))
    p_up.add_argument("--nodes", type=int, default=2, help="fake GPU nodes (default 2)")
    p_up.add_argument("--gpus-per-node", type=int, default=8, help="nvidia.com/gpu per node (default 8)")
    p_up.add_argument("--kwok-nodes", type=int, default=0, help="extra GPU nodes faked by kwok (default 0)")
    p_up.set_defaults(func=up)
    sub.add_parser("down", help="stop exactly the processes `up` started; remove the state").set_defaults(func=down)
    sub.add_parser("status", help="the recorded processes and whether they run").set_defaults(func=status)
    p_demo = sub.add_parser("demo", help="the main job on the running cluster: a NASSearch start to finish")
    p_demo.add_argument("--out-dir", type=Path, default=Path(".demo"), help="summary, timeline, plot, logs")
    p_demo.set_defaults(func=demo)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

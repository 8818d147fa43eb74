"""`make demo`: the product's main job on the local cluster, start to finish.

Starts the forecaster (replaying the California trace at DEMO_SPEED) and the operator (kopf, at the same
time scale), applies crds/examples/nassearch-demo.yaml, shows a live line per few seconds while the node
agent runs the real trainer processes on the CPU, and at the end writes `.demo/summary.json`,
`.demo/timeline.csv`, `.demo/demo.png` (demo_report) and `.demo/metrics.jsonl` (every scrape of both
services' /metrics). Logs of both services go to `.demo/`."""

from __future__ import annotations

import json
import shutil
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import yaml
from kubernetes import client

from cenas_localcluster import services
from cenas_localcluster.control_plane import ClusterState
from cenas_localcluster.demo_report import Sample, summarise, write_outputs

GROUP, VERSION = "cenas.dev", "v1alpha1"
NAMESPACE = "cenas-demo"
DEMO_SPEED = 360.0  # grid seconds per wall second: one grid hour every 10 s
REPLAY_START = "2021-07-01T02:00:00Z"  # 19:00 in California: a dirty evening, the solar dip comes at dawn + 7 h
TIMEOUT_SECONDS = 9.5 * 60
DEADLINE_SECONDS = 8 * 60  # the demo search's deadline after apply: 48 grid hours to pick clean ones from
EPOCH_GRID_HOURS = 0.5  # a digits epoch on a CPU is seconds of wall time: hours of grid time at DEMO_SPEED
TRAINER_RULES = [{"apiGroups": [GROUP], "resources": ["nastrials/status"], "verbs": ["get", "patch"]}]


def _prepare_namespace(api: client.ApiClient) -> None:
    core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    objects = client.CustomObjectsApi(api)
    try:
        core.create_namespace({"metadata": {"name": NAMESPACE}})
    except client.ApiException as exc:
        if exc.status != 409:
            raise
    # A previous demo's search and trials go first (the operator is not running yet: drop finalizers).
    for plural in ("nassearches", "nastrials"):
        for item in objects.list_namespaced_custom_object(GROUP, VERSION, NAMESPACE, plural)["items"]:
            name = item["metadata"]["name"]
            try:
                objects.patch_namespaced_custom_object(GROUP, VERSION, NAMESPACE, plural, name,
                                                       {"metadata": {"finalizers": None}})
                objects.delete_namespaced_custom_object(GROUP, VERSION, NAMESPACE, plural, name)
            except client.ApiException as exc:
                if exc.status != 404:  # the garbage collector was faster
                    raise
    core.delete_collection_namespaced_pod(NAMESPACE, grace_period_seconds=0)
    core.delete_collection_namespaced_config_map(NAMESPACE, label_selector="cenas.dev/search")
    for create, body in (
        (core.create_namespaced_service_account, {"metadata": {"name": "cenas-trainer"}}),
        (rbac.create_namespaced_role, {"metadata": {"name": "cenas-trainer"}, "rules": TRAINER_RULES}),
        (rbac.create_namespaced_role_binding, {
            "metadata": {"name": "cenas-trainer"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "cenas-trainer"},
            "subjects": [{"kind": "ServiceAccount", "name": "cenas-trainer", "namespace": NAMESPACE}],
        }),
    ):
        try:
            create(NAMESPACE, body)
        except client.ApiException as exc:
            if exc.status != 409:
                raise


def _scrape(out, urls: tuple[str, ...]) -> None:
    """One scrape of both services' /metrics, as a JSON line: what Prometheus would have stored. The
    dashboard picture (bench/dashboard/render.py) is drawn from these."""
    exposition = []
    for url in urls:
        try:
            exposition.append(httpx.get(url, timeout=2).text)
        except httpx.HTTPError:
            continue
    out.write(json.dumps({"time": time.time(), "exposition": exposition}) + "\n")
    out.flush()


def _intensity(forecaster: str, location: str) -> float | None:
    try:
        response = httpx.get(f"{forecaster}/v1/intensity/current", params={"location": location}, timeout=2)
        return float(response.json()["intensityGramsPerKilowattHour"]) if response.status_code == 200 else None
    except (httpx.HTTPError, KeyError, ValueError):
        return None


def run_demo(state: ClusterState, repo: Path, out_dir: Path) -> int:
    from cenas_operator.api.crds import CRD_DIR, install_crds

    if out_dir.exists():
        shutil.rmtree(out_dir)
    (out_dir / "checkpoints").mkdir(parents=True)
    api = state.api_client()
    install_crds(api)
    _prepare_namespace(api)
    manifest = yaml.safe_load((CRD_DIR / "examples" / "nassearch-demo.yaml").read_text())
    manifest["spec"]["trainer"]["checkpointVolume"] = {"hostPath": {"path": str((out_dir / "checkpoints").resolve())}}
    location = manifest["spec"]["carbon"]["location"]
    name = manifest["metadata"]["name"]
    objects = client.CustomObjectsApi(api)

    with ExitStack() as stack:
        port = services.free_port()
        forecaster_url = f"http://127.0.0.1:{port}"
        print(f"starting the forecaster (replaying {location} from {REPLAY_START} at {DEMO_SPEED:.0f}x) ...")
        forecaster = services.forecaster(port=port, location=location, replay_start=REPLAY_START,
                                         speed=DEMO_SPEED, log_dir=out_dir)
        stack.callback(forecaster.stop)
        forecaster.start()
        print("starting the operator ...")
        metrics_port = services.free_port()
        operator = services.operator(kubeconfig=state.kubeconfig, namespace=NAMESPACE, log_dir=out_dir, env={
            "CENAS_FORECASTER_URL": forecaster_url, "CENAS_TIME_SCALE": str(DEMO_SPEED),
            "CENAS_METRICS_PORT": str(metrics_port),
            "CENAS_PLANNING_GPU_HOURS_PER_EPOCH": str(EPOCH_GRID_HOURS),
            "CENAS_TRAINER_REPORT_INTERVAL_SECONDS": "5", "CENAS_SEARCH_TICK_SECONDS": "2"})
        stack.callback(operator.stop)
        operator.start()
        deadline = time.time() + DEADLINE_SECONDS
        manifest["spec"]["budget"]["deadline"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(deadline))
        objects.create_namespaced_custom_object(GROUP, VERSION, NAMESPACE, "nassearches", manifest)
        print(f"applied NASSearch {NAMESPACE}/{name}; following it (Ctrl-C stops the demo)\n")
        print(f"{'time':>6} {'g/kWh':>6} {'GPUs':>5} {'run':>4} {'susp':>4} {'done':>4} {'CO2 g':>8} "
              f"{'run-now g':>9}  decision")
        began = time.monotonic()
        samples: list[Sample] = []
        search: dict = {}
        scrapes = open(out_dir / "metrics.jsonl", "w")  # noqa: SIM115 - closed by the stack
        stack.callback(scrapes.close)
        endpoints = (f"http://127.0.0.1:{metrics_port}/metrics", f"{forecaster_url}/metrics")
        while time.monotonic() - began < TIMEOUT_SECONDS:
            _scrape(scrapes, endpoints)
            if not operator.alive:
                print(f"the operator exited: see {operator.log_path}", file=sys.stderr)
                return 1
            search = objects.get_namespaced_custom_object(GROUP, VERSION, NAMESPACE, "nassearches", name)
            status = search.get("status") or {}
            carbon, gpus, trials = status.get("carbon") or {}, status.get("gpus") or {}, status.get("trials") or {}
            decision = status.get("lastDecision") or {}
            sample = Sample(
                seconds=time.monotonic() - began, intensity=_intensity(forecaster_url, location),
                gpus_running=int(gpus.get("running", 0)), emitted_grams=float(carbon.get("emittedGrams", 0)),
                counterfactual_grams=float(carbon.get("counterfactualGrams", 0)))
            samples.append(sample)
            print(f"{sample.seconds:6.0f} {sample.intensity or float('nan'):6.0f} {sample.gpus_running:>5} "
                  f"{trials.get('running', 0):>4} {trials.get('suspended', 0):>4} {trials.get('succeeded', 0):>4} "
                  f"{sample.emitted_grams:8.2f} {sample.counterfactual_grams:9.2f}  "
                  f"{decision.get('action', '-')} {decision.get('targetGPUs', '-')} ({decision.get('reason', '-')})",
                  flush=True)
            complete = next((c for c in status.get("conditions") or [] if c["type"] == "Complete"), None)
            if complete and complete["status"] == "True":
                break
            time.sleep(5)
        trial_items = objects.list_namespaced_custom_object(GROUP, VERSION, NAMESPACE, "nastrials")["items"]
    summary = summarise(search, trial_items, wall_seconds=time.monotonic() - began, speed=DEMO_SPEED)
    write_outputs(out_dir, summary, samples)
    print("\n" + json.dumps(summary, indent=2))
    print(f"\nwrote {out_dir}/summary.json, timeline.csv and demo.png; the cluster stays up (`make cluster-down`).")
    return 0 if summary["complete"] else 1

"""The operator at scale on fake (kwok) GPU nodes: decision latency, operator CPU and memory.

    .venv/bin/python bench/operator/scale.py                           # 100 searches x 16 GPUs, 200 nodes
    .venv/bin/python bench/operator/scale.py --searches 10 --gpus 16   # a quick one

What runs: the local control plane (hack/localcluster) with `--kwok-nodes` kwok nodes of `--gpus-per-node`
GPUs each (kwok plays the kubelet: pods become Running without a process), the real forecaster (replaying
the California trace in real time), and the operator (`kopf run`, a child process, admin kubeconfig).
`--searches` NASSearches (CarbonAgnostic, gpus.max = `--gpus`, 1 GPU per trial, pods pinned to the kwok
nodes) are created at once. This script plays the trainer of every pod on a kwok node, as the real
trainer would report through the API: a supernet trial finishes at once (pod Succeeded, exit code 0), a
scoring trial reports a score per candidate and finishes, a full training runs for ever and reports
progress and energyJoules every `--report-seconds` (the trainer's default is 30 s).

Phases (client-side monotonic timestamps from two watches, pods and NASSearches, in this process):
  1. ramp: until every search runs `--gpus` FullTraining pods (steady state);
  2. suspend: spec.suspend=true on every search at once; until every pod is gone and every FullTraining
     trial's Suspended condition is True (read from the API, not from the operator's search status);
  3. resume: spec.suspend=false on every search at once; until every search runs `--gpus` pods again.
Per search and flip: spec patched -> the status with the new lastDecision arrives (decision) -> the last
of its pods is ADDED (resume) / DELETED (suspend). The operator writes lastDecision at the end of the pass
that decided, after it acted, so "decision -> pods" (arrival of the status to the last pod) can be negative;
"decision made -> pods" measures from `lastDecision.time`, the operator's wall clock when the deciding pass
started (microseconds), to the benchmark's wall clock when the watch showed the last pod (same machine):
the time from deciding to the pods existing. On suspend, "decision made -> last deletion" ends instead when
the watch showed the last of the search's pods marked for deletion (its deletionTimestamp): where the
operator's part ends; kwok (the kubelet here) removes the pod after that.

Operator CPU is utime+stime of the `kopf run` process (/proc/PID/stat) per phase; memory is its peak
RSS (VmHWM). The control plane's processes are measured the same way, for context. The JSON summary is
printed and appended to results/scale.jsonl. Stopped by SIGTERM (`timeout`) or SIGINT, it stops the operator,
the forecaster and the cluster as on a normal exit, and records nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import queue
import random
import re
import signal
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

from kubernetes import client, watch

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "operator"), str(REPO / "hack/localcluster")]

from cenas_localcluster import services  # noqa: E402
from cenas_localcluster.control_plane import (  # noqa: E402
    ClusterConfig,
    start_cluster,
    stop_cluster,
    wait_for_default_service_account,
)
from cenas_localcluster.nodes import KWOK_LABEL, KWOK_TAINT  # noqa: E402
from cenas_operator.api import GROUP, LABEL_ROLE, LABEL_SEARCH, VERSION  # noqa: E402
from cenas_operator.api.crds import install_crds  # noqa: E402
from cenas_operator.builders import LABEL_TRIAL  # noqa: E402
from cenas_operator.forecast_client import parse_time  # noqa: E402

RESULTS = Path(__file__).parent / "results"
NAMESPACE = "scale"
LOCATION = "US-CAL-CISO"
FULL = "FullTraining"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---- /proc -----------------------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14 and 15)


def memory_mb(pid: int) -> dict[str, float]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmHWM:", "VmRSS:")):
            out[line.split(":")[0]] = int(line.split()[1]) / 1024
    return out


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary(values: list[float]) -> dict:
    return {"n": len(values), "p50": _r(percentile(values, 0.5)), "p99": _r(percentile(values, 0.99)),
            "max": _r(max(values) if values else None), "mean": _r(statistics.fmean(values) if values else None)}


def _r(x: float | None, digits: int = 3) -> float | None:
    return None if x is None else round(x, digits)


# ---- what the watches see --------------------------------------------------------------------------------
class Tracker:
    """Two watches (pods, NASSearches) in the namespace; every event stamped with time.monotonic()."""

    def __init__(self, api: client.ApiClient, trainer: FakeTrainer):
        self.core = client.CoreV1Api(api)
        self.objects = client.CustomObjectsApi(api)
        self.trainer = trainer
        self.lock = threading.Lock()
        self.pods: dict[str, dict] = {}  # name -> {search, role, trial, phase, deleting}
        self.first_seen: dict[str, float] = {}  # pod name -> ADDED time
        self.gone: dict[str, float] = {}  # pod name -> DELETED time
        self.first_seen_wall: dict[str, float] = {}  # the same on the wall clock (the operator's clock too)
        self.gone_wall: dict[str, float] = {}
        self.deleting_wall: dict[str, float] = {}  # pod name -> first event with its deletionTimestamp (wall)
        self.searches: dict[str, dict] = {}  # name -> latest status
        self.decisions: dict[str, list[tuple[float, dict]]] = defaultdict(list)  # lastDecision changes
        self.stop = threading.Event()
        self.pod_events = 0

    def start(self) -> None:
        for target in (self._watch_pods, self._watch_searches):
            threading.Thread(target=target, daemon=True).start()

    def _stream(self, list_fn, handle, *args, **kwargs) -> None:
        version = None
        while not self.stop.is_set():
            w = watch.Watch()
            try:
                for event in w.stream(list_fn, *args, resource_version=version, timeout_seconds=240,
                                      allow_watch_bookmarks=True, **kwargs):
                    now, wall = time.monotonic(), time.time()
                    obj = event["object"]
                    if event["type"] == "ERROR":
                        version = None
                        break
                    meta = obj["metadata"] if isinstance(obj, dict) else obj.metadata
                    version = meta["resourceVersion"] if isinstance(obj, dict) else meta.resource_version
                    if event["type"] != "BOOKMARK":
                        handle(event["type"], obj, now, wall)
                    if self.stop.is_set():
                        break
            except client.ApiException as exc:
                if exc.status == 410:
                    version = None
                else:
                    time.sleep(0.5)
            except Exception as exc:  # a dropped connection: resume from the last version
                print(f"watch restarted: {exc!r}", file=sys.stderr)
                time.sleep(0.5)

    def _watch_pods(self) -> None:
        # Plain JSON, not V1Pod models: deserialising thousands of pod events would make this watch lag
        # behind the events it timestamps.
        self._stream(self.core.list_namespaced_pod, self._on_pod, NAMESPACE, label_selector=LABEL_SEARCH,
                     deserialize=False)

    def _watch_searches(self) -> None:
        self._stream(self.objects.list_namespaced_custom_object, self._on_search, GROUP, VERSION, NAMESPACE,
                     "nassearches")

    def _on_pod(self, kind: str, pod: dict, now: float, wall: float) -> None:
        meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
        name, labels = meta["name"], meta.get("labels") or {}
        with self.lock:
            self.pod_events += 1
            if kind == "DELETED" or meta.get("deletionTimestamp"):
                self.deleting_wall.setdefault(name, wall)
            if kind == "DELETED":
                self.pods.pop(name, None)
                self.gone.setdefault(name, now)
                self.gone_wall.setdefault(name, wall)
                return
            self.first_seen.setdefault(name, now)
            self.first_seen_wall.setdefault(name, wall)
            info = {"search": labels.get(LABEL_SEARCH), "role": labels.get(LABEL_ROLE),
                    "trial": labels.get(LABEL_TRIAL), "phase": status.get("phase"),
                    "deleting": meta.get("deletionTimestamp") is not None, "node": spec.get("nodeName"),
                    "image": spec["containers"][0]["image"]}
            self.pods[name] = info
        if info["phase"] == "Running" and not info["deleting"]:
            self.trainer.running(name, info)
        elif info["deleting"] or info["phase"] != "Running":
            self.trainer.not_running(name)

    def _on_search(self, kind: str, obj: dict, now: float, wall: float) -> None:
        name = obj["metadata"]["name"]
        status = obj.get("status") or {}
        with self.lock:
            if kind == "DELETED":
                self.searches.pop(name, None)
                return
            self.searches[name] = status
            last = status.get("lastDecision")
            history = self.decisions[name]
            if last and (not history or history[-1][1] != last):
                history.append((now, last))

    # snapshots
    def live_pods(self) -> dict[str, list[dict]]:
        """search -> its pods that are Running and not being deleted."""
        out: dict[str, list[dict]] = defaultdict(list)
        with self.lock:
            for info in self.pods.values():
                if info["phase"] == "Running" and not info["deleting"]:
                    out[info["search"]].append(info)
        return out

    def pods_of(self, search: str) -> set[str]:
        """The search's pods that have not finished (Pending, Running, or being deleted)."""
        with self.lock:
            return {name for name, info in self.pods.items()
                    if info["search"] == search and info["phase"] not in ("Succeeded", "Failed")}


# ---- the trainer's part ----------------------------------------------------------------------------------
class FakeTrainer:
    """Reports to NASTrials what a trainer would, for pods kwok pretends to run."""

    def __init__(self, api: client.ApiClient, report_seconds: float, power_watts: float):
        self.core = client.CoreV1Api(api)
        self.objects = client.CustomObjectsApi(api)
        self.report_seconds, self.power_watts = report_seconds, power_watts
        self.work: queue.Queue = queue.Queue()
        self.handled: set[str] = set()
        self.training: dict[str, tuple[str, float]] = {}  # pod -> (trial, started)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.calls = 0
        self.errors = 0

    def start(self, workers: int = 4) -> None:
        for _ in range(workers):
            threading.Thread(target=self._worker, daemon=True).start()
        if self.report_seconds > 0:
            threading.Thread(target=self._reporter, daemon=True).start()

    def running(self, pod: str, info: dict) -> None:
        with self.lock:
            if pod in self.handled:
                return
            self.handled.add(pod)
            if info["role"] == FULL:
                self.training[pod] = (info["trial"], time.monotonic())
                return
        self.work.put((pod, info))

    def not_running(self, pod: str) -> None:
        with self.lock:
            self.training.pop(pod, None)

    def _worker(self) -> None:
        while not self.stop.is_set():
            try:
                pod, info = self.work.get(timeout=0.5)
            except queue.Empty:
                continue
            try:
                self._finish(pod, info)
            except client.ApiException as exc:
                self.errors += 1
                print(f"trainer: {pod}: {exc.status} {exc.reason}", file=sys.stderr)

    def _finish(self, pod: str, info: dict) -> None:
        trial = info["trial"]
        if info["role"] == "CandidateScoring":
            spec = self.objects.get_namespaced_custom_object(GROUP, VERSION, NAMESPACE, "nastrials", trial)["spec"]
            rng = random.Random(trial)
            scores = [{"architecture": a, "accuracyPercent": round(rng.uniform(40, 95), 4)}
                      for a in spec.get("candidates") or []]
            self.objects.patch_namespaced_custom_object_status(
                GROUP, VERSION, NAMESPACE, "nastrials", trial,
                {"status": {"podName": pod, "result": {"scores": scores}}})
            self.calls += 2
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.core.patch_namespaced_pod_status(pod, NAMESPACE, {"status": {"phase": "Succeeded", "containerStatuses": [{
            "name": "trainer", "image": info["image"], "imageID": "", "ready": False, "restartCount": 0,
            "started": False, "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": now,
                                                       "finishedAt": now}}}]}})
        self.calls += 1

    def _reporter(self) -> None:
        """progress + energyJoules of every running full training once per report interval, spread evenly."""
        while not self.stop.is_set():
            started = time.monotonic()
            with self.lock:
                batch = list(self.training.items())
            gap = self.report_seconds / max(1, len(batch))
            for pod, (trial, since) in batch:
                if self.stop.is_set():
                    return
                elapsed = time.monotonic() - since
                try:
                    self.objects.patch_namespaced_custom_object_status(
                        GROUP, VERSION, NAMESPACE, "nastrials", trial, {"status": {
                            "podName": pod, "progress": {"step": int(elapsed), "totalSteps": 10**6},
                            "energyJoules": round(elapsed * self.power_watts, 3), "energySource": "Estimate"}})
                    self.calls += 1
                except client.ApiException as exc:
                    if exc.status != 404:
                        self.errors += 1
                time.sleep(max(0.0, gap - 0.001))
            time.sleep(max(0.0, self.report_seconds - (time.monotonic() - started)) if not batch else 0)


# ---- the searches ----------------------------------------------------------------------------------------
def search_manifest(name: str, gpus: int, power_watts: int) -> dict:
    return {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "NASSearch", "metadata": {"name": name},
        "spec": {
            "searchSpace": "NB201",
            "dataset": {"name": "digits"},
            "trainer": {"image": "ghcr.io/cenas-dev/cenas-trainer:0.1.0", "gpusPerTrial": 1,
                        "terminationGracePeriodSeconds": 10,
                        "checkpointVolume": {"hostPath": {"path": "/tmp/cenas/checkpoints"}}},
            "gpus": {"max": gpus, "powerWatts": power_watts, "nodeSelector": {KWOK_LABEL: "kwok"},
                     "tolerations": [{**KWOK_TAINT, "operator": "Equal"}]},
            "budget": {"maxFullTrainings": 10000, "carbonGrams": 10**11},
            "carbon": {"location": LOCATION, "policy": "CarbonAgnostic"},
        },
    }


class Meter:
    """CPU seconds of the operator and of the control plane's processes, read at phase boundaries."""

    def __init__(self, pids: dict[str, int]):
        self.pids = pids
        self.marks: list[tuple[str, float, dict[str, float]]] = []

    def mark(self, label: str) -> None:
        cpu = {}
        for name, pid in self.pids.items():
            with contextlib.suppress(OSError):
                cpu[name] = cpu_seconds(pid)
        self.marks.append((label, time.monotonic(), cpu))

    def phases(self, operator_rss: list[tuple[float, float]]) -> dict:
        """Per phase: wall and CPU seconds, and the operator's largest sampled RSS (where memory grows)."""
        out = {}
        for (_, t0, c0), (label, t1, c1) in zip(self.marks, self.marks[1:], strict=False):
            wall = t1 - t0
            rss = [mb for t, mb in operator_rss if t0 <= t <= t1]
            out[label] = {"wall_seconds": round(wall, 1), "cpu_seconds": {
                n: round(c1[n] - c0[n], 1) for n in c1 if n in c0}, "cores": {
                n: round((c1[n] - c0[n]) / wall, 3) for n in c1 if n in c0 and wall > 0},
                "operator_max_rss_mb": _r(max(rss), 1) if rss else None}
        return out


class MemorySampler(threading.Thread):
    def __init__(self, pid: int, every: float = 1.0):
        super().__init__(daemon=True)
        self.pid, self.every, self.samples = pid, every, []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.samples.append((time.monotonic(), memory_mb(self.pid).get("VmRSS", 0.0)))
            except OSError:
                return
            self.stop.wait(self.every)


def wait_until(check, timeout: float, what: str, every: float = 1.0, progress=None):
    deadline = time.monotonic() + timeout
    last_print = 0.0
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        if progress and time.monotonic() - last_print > 15:
            print(f"  waiting for {what}: {progress()}", flush=True)
            last_print = time.monotonic()
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}" + (f": {progress()}" if progress else ""))


def all_trials_suspended(objects: client.CustomObjectsApi) -> bool:
    trials = objects.list_namespaced_custom_object(GROUP, VERSION, NAMESPACE, "nastrials",
                                                   label_selector=f"{LABEL_ROLE}={FULL}")["items"]
    for trial in trials:
        conds = {c["type"]: c for c in (trial.get("status") or {}).get("conditions") or []}
        suspended = conds.get("Suspended")
        if not suspended or suspended["status"] != "True" or suspended["reason"] == "Suspending":
            return False
    return True


def flip(objects: client.CustomObjectsApi, names: list[str], suspend: bool) -> tuple[dict, dict]:
    """(search -> when its PATCH was sent, -> when it returned). The operator may decide before the reply."""
    sent, patched = {}, {}
    for name in names:
        sent[name] = time.monotonic()
        objects.patch_namespaced_custom_object(GROUP, VERSION, NAMESPACE, "nassearches", name,
                                               {"spec": {"suspend": suspend}})
        patched[name] = time.monotonic()
    return sent, patched


def scrape_reconcile(port: int) -> dict | None:
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    except OSError:
        return None
    def series(name: str) -> tuple[float, float] | None:
        total = re.search(rf"^{name}_sum (\S+)", text, re.M)
        count = re.search(rf"^{name}_count (\S+)", text, re.M)
        return (float(total.group(1)), float(count.group(1))) if total and count and float(count.group(1)) else None

    passes, acting = series("cenas_reconcile_duration_seconds"), series("cenas_decision_actuation_seconds")
    if passes is None:
        return None
    out = {"passes": int(passes[1]), "mean_seconds": round(passes[0] / passes[1], 4)}
    if acting is not None:  # the operator's own clock: pass start -> its last write, passes that changed trials
        under = re.search(r'^cenas_decision_actuation_seconds_bucket\{le="2.0"\} (\S+)', text, re.M)
        out["actuation"] = {"passes": int(acting[1]), "mean_seconds": round(acting[0] / acting[1], 4),
                            "share_under_2s": round(float(under.group(1)) / acting[1], 4) if under else None}
    return out


def handler_runs(log: Path) -> dict[str, int]:
    """How often kopf ran each handler (its INFO lines in the operator's log): timers that fall behind
    their interval show here as fewer runs than objects x wall / interval."""
    counts: dict[str, int] = defaultdict(int)
    pattern = re.compile(r"(Timer|Handler) '([^'/]+)[^']*' (succeeded|failed|did not exit in time)")
    with open(log, errors="replace") as lines:
        for line in lines:
            m = pattern.search(line)
            if m:
                counts[f"{m.group(2)} {m.group(3)}"] += 1
    return dict(counts)


# ---- the run ---------------------------------------------------------------------------------------------
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def exit_on_signal(signum: int, _frame) -> None:
    """SIGTERM or SIGINT becomes SystemExit(128 + N) in the main thread, so that run()'s finally stops the
    operator, the forecaster and the cluster: the cluster's processes run in sessions of their own and would
    outlive this one. Further signals are ignored until the clean-up is done."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    raise SystemExit(128 + signum)


def stop_on_signals() -> None:
    for sig in STOP_SIGNALS:
        signal.signal(sig, exit_on_signal)


def run(args: argparse.Namespace) -> dict:
    run_started = time.monotonic()
    state_dir = Path(args.state_dir or tempfile.mkdtemp(prefix="cenas-scale-"))
    logs = state_dir / "logs"
    names = [f"scale-{i:03d}" for i in range(args.searches)]
    result: dict = {"benchmark": "operator-scale", "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "searches": args.searches, "gpus_per_search": args.gpus, "kwok_nodes": args.kwok_nodes,
                    "gpus_per_node": args.gpus_per_node, "report_seconds": args.report_seconds,
                    "search_tick_seconds": args.search_tick, "cpus": os.cpu_count(), "state_dir": str(state_dir)}
    forecaster = operator = None
    tracker = trainer = sampler = None
    t0 = time.monotonic()
    # A failed start stops what it started (keeping the logs); from its return on, the finally below stops all.
    state = start_cluster(ClusterConfig(state_dir=state_dir, bin_dir=REPO / ".testbin", nodes=0,
                                        gpus_per_node=args.gpus_per_node, kwok_nodes=args.kwok_nodes,
                                        start_timeout_seconds=600))
    try:
        result["cluster_start_seconds"] = round(time.monotonic() - t0, 1)
        print(f"cluster up in {result['cluster_start_seconds']} s ({len(state.kwok_nodes)} kwok nodes)", flush=True)
        api = state.api_client()
        core, objects = client.CoreV1Api(api), client.CustomObjectsApi(api)
        install_crds(api)
        core.create_namespace({"metadata": {"name": NAMESPACE}})
        wait_for_default_service_account(core, NAMESPACE)
        core.create_namespaced_service_account(NAMESPACE, {"metadata": {"name": "cenas-trainer"}})

        fport = services.free_port()
        forecaster = services.forecaster(port=fport, location=LOCATION, replay_start="2021-07-01T20:00:00Z",
                                         speed=1.0, log_dir=logs).start()
        metrics_port = services.free_port()
        env = {"CENAS_FORECASTER_URL": f"http://127.0.0.1:{fport}", "CENAS_METRICS_PORT": str(metrics_port),
               "CENAS_SEARCH_TICK_SECONDS": str(args.search_tick),
               "CENAS_TRAINER_REPORT_INTERVAL_SECONDS": str(args.report_seconds or 30)}
        operator = services.operator(kubeconfig=state.kubeconfig, env=env, log_dir=logs, namespace=NAMESPACE).start()
        pid = operator.proc.pid
        pids = {"operator": pid, **{p.name: p.pid for p in state.processes}, "forecaster": forecaster.proc.pid,
                "bench(this)": os.getpid()}
        meter = Meter(pids)
        sampler = MemorySampler(pid)
        sampler.start()
        result["operator_rss_idle_mb"] = _r(memory_mb(pid)["VmRSS"], 1)

        trainer = FakeTrainer(state.api_client(), args.report_seconds, args.power_watts)
        trainer.start()
        tracker = Tracker(state.api_client(), trainer)
        tracker.start()
        time.sleep(1.0)
        meter.mark("start")

        try:
            # 1. ramp
            for name in names:
                objects.create_namespaced_custom_object(GROUP, VERSION, NAMESPACE, "nassearches",
                                                        search_manifest(name, args.gpus, args.power_watts))
            print(f"created {len(names)} searches", flush=True)

            def steady():
                live = tracker.live_pods()
                return all(sum(1 for p in live.get(n, []) if p["role"] == FULL) == args.gpus for n in names)

            def ramp_progress():
                live = tracker.live_pods()
                full = sum(sum(1 for p in live.get(n, []) if p["role"] == FULL) for n in names)
                return (f"{full}/{args.gpus * len(names)} full trainings running, {sum(map(len, live.values()))} pods "
                        f"running, operator RSS {memory_mb(pid)['VmRSS']:.0f} MB, {cpu_seconds(pid):.0f} CPU s")

            ramp_t0 = time.monotonic()
            wait_until(steady, args.ramp_timeout, "the steady state", progress=ramp_progress)
            result["ramp_seconds"] = round(time.monotonic() - ramp_t0, 1)
            print(f"steady state after {result['ramp_seconds']} s", flush=True)
            meter.mark("ramp")
            time.sleep(args.settle)
            meter.mark("steady")

            # 2. suspend all, 3. resume all
            for suspend in (True, False):
                phase = "suspend" if suspend else "resume"
                target = 0 if suspend else args.gpus
                before = {n: tracker.pods_of(n) for n in names}
                flip_t0 = time.monotonic()
                sent, patched = flip(objects, names, suspend)
                if suspend:
                    def done(before=before):
                        # every pod gone and every trial's suspension recorded (Suspended=True, not Suspending):
                        # resuming earlier would look like a vanished pod to the trial lifecycle
                        return all(not tracker.pods_of(n) for n in names) and all_trials_suspended(objects)

                    def prog(before=before):
                        return f"{sum(len(tracker.pods_of(n)) for n in names)} pods left"
                else:
                    def done(before=before):
                        live = tracker.live_pods()
                        return all(len([p for p in live.get(n, [])]) == args.gpus for n in names)

                    def prog(before=before):
                        return f"{sum(map(len, tracker.live_pods().values()))} pods running"
                try:
                    wait_until(done, args.flip_timeout, f"the {phase}", every=0.5, progress=prog)
                    timed_out = None
                except TimeoutError as exc:  # still report the searches whose pods did follow
                    timed_out = exc
                flip_wall = time.monotonic() - flip_t0

                def decided(sent=sent, target=target):  # the status that records the decision trails the pods
                    with tracker.lock:
                        return all(any(t >= sent[n] and last.get("targetGPUs") == target
                                       for t, last in tracker.decisions[n]) for n in names)
                with contextlib.suppress(TimeoutError):  # a search without one is left out of the decision figures
                    wait_until(decided, 30.0, f"the {phase} decisions", every=0.5)
                spec_to_decision, decision_to_pods, spec_to_pods, made_to_pods = [], [], [], []
                made_to_deleting = []  # suspend: to the last of the search's pods marked for deletion
                with tracker.lock:
                    for n in names:
                        t_spec = patched[n]
                        t_dec = made = None
                        for t, last in tracker.decisions[n]:
                            if t >= sent[n] and last.get("targetGPUs") == target:
                                t_dec, made = t, parse_time(last["time"]).timestamp()
                                break
                        seen, seen_wall = (tracker.gone, tracker.gone_wall) if suspend else (
                            tracker.first_seen, tracker.first_seen_wall)
                        if suspend:
                            mine = [p for p in before[n] if p in seen]
                        else:  # new pods since the decision was made (its pods may beat this PATCH's reply)
                            mine = [p for p, t in seen.items() if p.startswith(n + "-") and p not in before[n]
                                    and (seen_wall[p] >= made if made is not None else t >= t_spec)]
                        # resume: the moment the search's pods number gpus.max again (later ones are new work)
                        want = len(before[n]) if suspend else args.gpus
                        last_pod = sorted(mine, key=seen.get)[want - 1] if len(mine) >= want > 0 else None
                        if t_dec is not None:
                            spec_to_decision.append(t_dec - t_spec)
                        if last_pod is not None:
                            spec_to_pods.append(seen[last_pod] - t_spec)
                            if t_dec is not None:
                                decision_to_pods.append(seen[last_pod] - t_dec)
                                made_to_pods.append(seen_wall[last_pod] - made)
                        if suspend and made is not None and before[n]:
                            marked = [tracker.deleting_wall[p] for p in before[n] if p in tracker.deleting_wall]
                            if len(marked) == len(before[n]):
                                made_to_deleting.append(max(marked) - made)
                meter.mark(phase)
                result[phase] = {
                    "wall_seconds": round(flip_wall, 2),
                    "patch_all_seconds": round(max(patched.values()) - flip_t0, 2),
                    "spec_to_decision_seconds": summary(spec_to_decision),
                    "decision_to_last_pod_seconds": summary(decision_to_pods),
                    "decision_made_to_last_pod_seconds": summary(made_to_pods),
                    "spec_to_last_pod_seconds": summary(spec_to_pods),
                }
                if suspend:
                    result[phase]["decision_made_to_last_deletion_seconds"] = summary(made_to_deleting)
                print(f"{phase}: {json.dumps(result[phase])}", flush=True)
                if timed_out is not None:
                    raise timed_out
                time.sleep(args.settle)
                meter.mark(f"after-{phase}")

        except TimeoutError as exc:  # report how far it got, with the CPU and memory of the attempt
            print(exc, flush=True)
            meter.mark("timed-out")
            live = tracker.live_pods()
            result["timed_out"] = str(exc)[:300]
            result["full_trainings_running_at_timeout"] = sum(
                sum(1 for p in live.get(n, []) if p["role"] == FULL) for n in names)

        # the end: CPU over the phases, memory
        sampler.stop.set()
        mem = memory_mb(pid)
        result["operator_peak_rss_mb"] = _r(mem["VmHWM"], 1)
        result["operator_rss_end_mb"] = _r(mem["VmRSS"], 1)
        result["phases"] = meter.phases(sampler.samples)
        total_wall = meter.marks[-1][1] - meter.marks[0][1]
        total_cpu = meter.marks[-1][2]["operator"] - meter.marks[0][2]["operator"]
        result["operator_cpu_seconds"] = round(total_cpu, 1)
        result["operator_cpu_cores_avg"] = round(total_cpu / total_wall, 3)
        result["operator_reconcile"] = scrape_reconcile(metrics_port)
        result["operator_handler_runs"] = handler_runs(logs / "operator.log")
        result["trainer_api_calls"] = trainer.calls
        result["trainer_api_errors"] = trainer.errors
        result["pod_events"] = tracker.pod_events
        result["pods_seen"] = len(tracker.first_seen)
        result["run_wall_seconds"] = round(time.monotonic() - run_started, 1)
        return result
    finally:
        for stopper in (tracker, trainer, sampler):
            if stopper is not None:
                stopper.stop.set()
        for service in (operator, forecaster):
            if service is not None:
                service.stop()
        if args.keep_state:
            stop_cluster(state_dir, remove_state=False)
            print(f"logs kept in {logs}", flush=True)
        else:
            stop_cluster(state_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--searches", type=int, default=100)
    parser.add_argument("--gpus", type=int, default=16, help="gpus.max of every search (1 GPU per trial)")
    parser.add_argument("--kwok-nodes", type=int, default=200)
    parser.add_argument("--gpus-per-node", type=int, default=8)
    parser.add_argument("--report-seconds", type=float, default=30.0,
                        help="full trainings report progress and energy this often (0: never)")
    parser.add_argument("--power-watts", type=int, default=400)
    parser.add_argument("--search-tick", type=float, default=3.0, help="CENAS_SEARCH_TICK_SECONDS (default 3)")
    parser.add_argument("--settle", type=float, default=20.0, help="seconds of steady state between phases")
    parser.add_argument("--ramp-timeout", type=float, default=1800.0)
    parser.add_argument("--flip-timeout", type=float, default=600.0)
    parser.add_argument("--state-dir", default=None, help="default: a new temporary directory")
    parser.add_argument("--keep-state", action="store_true", help="keep the state directory (logs) afterwards")
    parser.add_argument("--tag", default="", help="recorded with the result")
    args = parser.parse_args()
    if args.searches * args.gpus > args.kwok_nodes * args.gpus_per_node:
        parser.error("more GPUs wanted than the kwok nodes have")
    stop_on_signals()
    result = run(args)
    result["tag"] = args.tag
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / "scale.jsonl", "a") as out:
        out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()

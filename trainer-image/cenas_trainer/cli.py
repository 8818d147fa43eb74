"""`python -m cenas_trainer {train,supernet,score}`: wires config, device, meter, metrics and reporter
to a mode, and turns the outcome into an exit code and one JSON line on stdout.

Exit codes: 0 done; 2 something a human must fix (bad flags, architecture, dataset, credentials,
a checkpoint of another run); 128+N stopped by signal N at a checkpoint (143 for SIGTERM); 1 a bug.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from cenas_trainer import summary as summary_out
from cenas_trainer.config import EXIT_CONFIG, Config, ConfigError, parse
from cenas_trainer.dataset_files import DatasetError
from cenas_trainer.signals import StopFlag

log = logging.getLogger("cenas_trainer")


def _emit(summary: dict[str, Any], cfg: Config | None, main_rank: bool = True) -> None:
    if not main_rank:
        return
    print(summary_out.line(summary), flush=True)
    path = cfg.termination_log if cfg is not None else None
    summary_out.write_termination_message(path, summary)


def _fail(message: str, code: int, cfg: Config | None, argv: list[str]) -> int:
    log.error("%s", message)
    mode = cfg.mode if cfg else (argv[0] if argv else None)
    _emit({"mode": mode, "error": message, "exit_code": code, "accuracy": None, "step": None,
           "resumed_from_step": None, "energy_joules": 0.0, "energy_source": None}, cfg)
    return code


def _device(cfg: Config, local_rank: int):
    import torch

    want = cfg.device
    if want == "auto":
        want = "cuda" if torch.cuda.is_available() else "cpu"
    if want == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("--device cuda but no CUDA device is available")
        if local_rank >= torch.cuda.device_count():
            raise ConfigError(f"--nproc-per-node wants a GPU per worker, but worker {local_rank} finds only "
                              f"{torch.cuda.device_count()} visible GPU(s); request as many GPUs as workers")
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def _reporter(cfg: Config, is_main: bool):
    from cenas_trainer.kube import KubeClient, KubeConfigError, from_kubeconfig, in_cluster
    from cenas_trainer.report import NASTrialReporter, NullReporter

    if cfg.report == "none" or not is_main:
        return NullReporter()
    try:
        conn = from_kubeconfig(cfg.kubeconfig) if cfg.kubeconfig else in_cluster()
    except KubeConfigError as exc:
        raise ConfigError(f"--report nastrial: {exc}") from exc
    namespace = cfg.namespace or conn.namespace or os.environ.get("POD_NAMESPACE")
    if not namespace:
        raise ConfigError("--report nastrial needs --namespace (or the pod's service-account namespace)")
    return NASTrialReporter(KubeClient(conn), namespace, cfg.trial, cfg.pod_name,
                            interval_seconds=cfg.report_interval_seconds)


def _run(cfg: Config, stop: StopFlag) -> int:
    import torch

    from cenas_trainer import dist as dist_mod
    from cenas_trainer.energy import EstimatedMeter, open_meter
    from cenas_trainer.metrics import TrainerMetrics
    from cenas_trainer.modes import MODES
    from cenas_trainer.session import TrialSession

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    dist = dist_mod.from_env()
    device = _device(cfg, dist.local_rank)
    dist_mod.init(dist, device)
    devices = dist.world if device.type == "cuda" else 1
    meter = open_meter(cfg.power_watts * devices, use_nvml=device.type == "cuda") if dist.is_main else EstimatedMeter(0.0)
    metrics = TrainerMetrics()
    if cfg.metrics_port and dist.is_main:
        metrics.serve(cfg.metrics_port)
    try:
        session = TrialSession(cfg, meter, metrics, _reporter(cfg, dist.is_main), dist)
        summary = MODES[cfg.mode](cfg, session, dist, device, stop)
    finally:
        meter.close()
        dist_mod.shutdown(dist)
    code = stop.exit_code if summary.get("interrupted") else 0
    summary["exit_code"] = code
    _emit(summary, cfg, dist.is_main)
    return code


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    rank = f" rank {os.environ['RANK']}" if int(os.environ.get("WORLD_SIZE", "1")) > 1 else ""
    logging.basicConfig(
        stream=sys.stderr, level=os.environ.get("CENAS_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s" + rank + " %(name)s: %(message)s",
    )
    stop = StopFlag().install()  # before the slow imports: a SIGTERM during start-up is honoured too
    cfg = None
    try:
        cfg = parse(argv)
        if cfg.nproc_per_node > 1 and "LOCAL_RANK" not in os.environ:
            from cenas_trainer.launcher import launch

            return launch(argv, cfg.nproc_per_node, stop)
        return _run(cfg, stop)
    except (ConfigError, DatasetError) as exc:
        return _fail(str(exc), EXIT_CONFIG, cfg, argv)
    except Exception as exc:
        log.exception("trainer failed")
        return _fail(f"{type(exc).__name__}: {exc}", 1, cfg, argv)

"""Operator start-up and shutdown: settings, the Kubernetes client, the forecaster client, the PPO weights,
the metrics endpoint and kopf's own settings, kept in kopf's memo for the handlers."""

from __future__ import annotations

import asyncio
import logging
import os

import kopf
from kubernetes import client, config
from prometheus_client import start_http_server

from cenas_operator import metrics, search_handler, trial_handler
from cenas_operator.config import Settings
from cenas_operator.forecast_client import ForecastClient
from cenas_operator.policy.runtime import PolicyRuntime, WeightsError

log = logging.getLogger(__name__)
# Handlers that run for every watch event or search pass: kopf logs each success at INFO, most of the log
# at scale (7,500 of 8,500 lines in a 20-search benchmark) and a few per cent of the operator's CPU.
ROUTINE_HANDLERS = ("trial-events", "pod-events", "search-loop")


# Kinds kopf watches for indexes and event handlers only: no creation, update, field or deletion handler
# (main.py; a unit test checks), so nothing ever compares their diff base.
WATCH_ONLY_KINDS = ("Pod", "NASTrial")


class LeanDiffBase(kopf.AnnotationsDiffBaseStorage):
    """kopf's diff base (what its change detection compares), built for every watch event of every watched
    kind: empty for the kinds nothing compares it for (a copy of a pod per event is most of what kopf does
    with it), and for the others from the fields kopf keeps instead of a deep copy of the whole body (their
    status and managedFields, which it drops, are most of a body): there the essence is kopf's own."""

    KEPT_METADATA = ("name", "namespace", "labels", "annotations", "ownerReferences")

    def build(self, *, body, extra_fields=None):
        if extra_fields:  # a handler on a status or metadata field: kopf's own way
            return super().build(body=body, extra_fields=extra_fields)
        if body.get("kind") in WATCH_ONLY_KINDS:
            return {}
        meta = body.get("metadata") or {}
        lean = {key: value for key, value in body.items() if key not in ("metadata", "status")}
        lean["metadata"] = {key: meta[key] for key in self.KEPT_METADATA if key in meta}
        return super().build(body=kopf.Body(lean))


def keep_log_record(record: logging.LogRecord) -> bool:
    """A logging filter: every record but kopf's INFO line on a routine handler's success."""
    return not (record.levelno == logging.INFO and isinstance(record.msg, str) and record.msg.endswith(
        " succeeded.") and any(f"'{handler}'" in record.msg for handler in ROUTINE_HANDLERS))


def api_client(connections: int) -> client.ApiClient:
    """In a pod: the ServiceAccount; elsewhere: KUBECONFIG (the same rules kopf uses to log in). The pool
    holds a connection per thread that writes (urllib3's default of 5 per core made the rest open and
    discard a TLS connection per request)."""
    configuration = client.Configuration()
    if os.environ.get("KUBERNETES_SERVICE_HOST") and not os.environ.get("KUBECONFIG"):
        config.load_incluster_config(client_configuration=configuration)
    else:
        config.load_kube_config(config_file=os.environ.get("KUBECONFIG"), client_configuration=configuration)
    configuration.connection_pool_maxsize = connections
    return client.ApiClient(configuration)


def login(settings: kopf.OperatorSettings, logger, **_) -> kopf.ConnectionInfo | None:
    """kopf's own logins, reading KUBECONFIG when called (the client library reads it at import)."""
    if os.environ.get("KUBERNETES_SERVICE_HOST") and not os.environ.get("KUBECONFIG"):
        return kopf.login_with_service_account(settings=settings, logger=logger)
    return kopf.login_with_kubeconfig(settings=settings, logger=logger)


def load_policy() -> tuple[PolicyRuntime | None, str | None]:
    """The shipped PPO weights; without them PPO searches act on RuleBased and say so in lastDecision."""
    try:
        runtime = PolicyRuntime.load()
    except WeightsError as exc:
        log.error("PPO weights unusable, RuleBased acts for PPO searches: %s", exc)
        return None, None
    return runtime, runtime.version


async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_) -> None:
    memo.settings = Settings.from_env()
    memo.api = api_client(search_handler.WRITER_THREADS + memo.settings.trial_workers
                          + memo.settings.search_workers)
    memo.loop = asyncio.get_running_loop()
    memo.forecasts = ForecastClient(
        memo.settings.forecaster_url,
        timeout_seconds=memo.settings.forecast_timeout_seconds,
        # Ages are grid time: a replayed trace at 360x makes a forecast stale 360 times sooner.
        max_age_seconds=memo.settings.forecast_max_age_seconds / memo.settings.time_scale,
        on_request=metrics.record_forecast_request,
        reuse_seconds=memo.settings.forecast_reuse_seconds / memo.settings.time_scale,
    )
    memo.ppo, memo.ppo_version = load_policy()
    memo.search_cache, memo.spaces, memo.intensities, memo.totals = {}, {}, {}, {}
    memo.trial_work = trial_handler.TrialWork()
    trial_handler.start_workers(memo)
    memo.resync = asyncio.create_task(trial_handler.resync(memo))
    if memo.settings.metrics_port:
        start_http_server(memo.settings.metrics_port, registry=metrics.REGISTRY)
    # Search passes use the blocking Kubernetes client in kopf's thread pool (trials have their own workers).
    settings.execution.max_workers = memo.settings.search_workers
    # Handler outcomes stay in the log; decisions are posted as events explicitly
    # (kopf.event with type Normal: kopf.info would be filtered out by this level).
    settings.posting.level = logging.WARNING
    settings.persistence.diffbase_storage = LeanDiffBase()
    logging.getLogger("kopf.objects").addFilter(keep_log_record)
    settings.watching.server_timeout = 300


async def shutdown(memo: kopf.Memo, **_) -> None:
    if getattr(memo, "resync", None) is not None:
        memo.resync.cancel()
    if getattr(memo, "trial_work", None) is not None:
        memo.trial_work.queue.close()
    forecasts = getattr(memo, "forecasts", None)
    if forecasts is not None:
        await forecasts.aclose()

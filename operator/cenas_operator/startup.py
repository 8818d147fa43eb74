"""Operator start-up: settings, the Kubernetes client and kopf's own settings, kept in kopf's memo."""

from __future__ import annotations

import os

import kopf
from kubernetes import client, config

from cenas_operator.config import Settings


def api_client() -> client.ApiClient:
    """In a pod: the ServiceAccount; elsewhere: KUBECONFIG (the same rules kopf uses to log in)."""
    if os.environ.get("KUBERNETES_SERVICE_HOST") and not os.environ.get("KUBECONFIG"):
        config.load_incluster_config()
        return client.ApiClient()
    return config.new_client_from_config(config_file=os.environ.get("KUBECONFIG"))


def login(settings: kopf.OperatorSettings, logger, **_) -> kopf.ConnectionInfo | None:
    """kopf's own logins, reading KUBECONFIG when called (the client library reads it at import)."""
    if os.environ.get("KUBERNETES_SERVICE_HOST") and not os.environ.get("KUBECONFIG"):
        return kopf.login_with_service_account(settings=settings, logger=logger)
    return kopf.login_with_kubeconfig(settings=settings, logger=logger)


def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_) -> None:
    memo.settings = Settings.from_env()
    memo.api = api_client()
    # Pod and trial state changes are polled by timers; failures are retried by the next tick.
    settings.execution.max_workers = 8
    settings.posting.level = 20  # INFO and above become Kubernetes events

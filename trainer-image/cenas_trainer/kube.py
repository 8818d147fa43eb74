"""A minimal Kubernetes API client for one job: JSON-merge-patching a custom resource's status.

Credentials come from the pod (KUBERNETES_SERVICE_HOST/PORT and the service-account token and CA
under /var/run/secrets/kubernetes.io/serviceaccount), or from a kubeconfig file (tests, standalone
runs): its current context's server, CA, token or client certificate.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


class KubeConfigError(Exception):
    """No usable credentials."""


@dataclass
class KubeConnection:
    server: str
    ssl_context: ssl.SSLContext | bool
    token_file: Path | None = None  # re-read on every request: projected tokens rotate
    token: str | None = None
    namespace: str | None = None

    def headers(self) -> dict[str, str]:
        token = self.token_file.read_text().strip() if self.token_file else self.token
        return {"Authorization": f"Bearer {token}"} if token else {}


def in_cluster(sa_dir: Path = SERVICE_ACCOUNT_DIR) -> KubeConnection:
    host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT")
    if not host or not port:
        raise KubeConfigError("not in a pod: KUBERNETES_SERVICE_HOST/PORT are not set (use --kubeconfig)")
    token, ca = sa_dir / "token", sa_dir / "ca.crt"
    if not token.is_file():
        raise KubeConfigError(f"no service-account token at {token}")
    ctx = ssl.create_default_context(cafile=str(ca)) if ca.is_file() else True
    ns_file = sa_dir / "namespace"
    host = f"[{host}]" if ":" in host else host
    return KubeConnection(
        server=f"https://{host}:{port}", ssl_context=ctx, token_file=token,
        namespace=ns_file.read_text().strip() if ns_file.is_file() else None,
    )


def _data_or_file(entry: dict[str, Any], key: str, base: Path) -> tuple[bytes | None, str | None]:
    if entry.get(f"{key}-data"):
        return base64.b64decode(entry[f"{key}-data"]), None
    if entry.get(key):
        path = Path(entry[key])
        return None, str(path if path.is_absolute() else base / path)
    return None, None


def from_kubeconfig(path: Path, context: str | None = None) -> KubeConnection:
    import yaml

    path = Path(path)
    try:
        cfg = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise KubeConfigError(f"cannot read kubeconfig {path}: {exc}") from exc
    name = context or cfg.get("current-context")
    try:
        ctx = next(c["context"] for c in cfg["contexts"] if c["name"] == name)
        cluster = next(c["cluster"] for c in cfg["clusters"] if c["name"] == ctx["cluster"])
        user = next((u["user"] for u in cfg.get("users") or [] if u["name"] == ctx.get("user")), {})
    except (KeyError, StopIteration, TypeError) as exc:
        raise KubeConfigError(f"kubeconfig {path} has no usable context {name!r}") from exc
    base = path.parent
    ssl_ctx: ssl.SSLContext | bool
    if cluster.get("insecure-skip-tls-verify"):
        ssl_ctx = False
    else:
        ca_data, ca_file = _data_or_file(cluster, "certificate-authority", base)
        ssl_ctx = ssl.create_default_context(
            cafile=ca_file, cadata=ca_data.decode() if ca_data else None
        ) if (ca_data or ca_file) else ssl.create_default_context()
    cert_data, cert_file = _data_or_file(user, "client-certificate", base)
    key_data, key_file = _data_or_file(user, "client-key", base)
    if (cert_data or cert_file) and isinstance(ssl_ctx, ssl.SSLContext):
        with tempfile.TemporaryDirectory() as tmp:  # ssl needs files; they are read right away
            if cert_data:
                cert_file = os.path.join(tmp, "cert.pem")
                Path(cert_file).write_bytes(cert_data)
            if key_data:
                key_file = os.path.join(tmp, "key.pem")
                Path(key_file).write_bytes(key_data)
            ssl_ctx.load_cert_chain(cert_file, key_file)
    token_file = Path(user["tokenFile"]) if user.get("tokenFile") else None
    return KubeConnection(
        server=cluster["server"].rstrip("/"), ssl_context=ssl_ctx, token=user.get("token"),
        token_file=token_file, namespace=ctx.get("namespace"),
    )


class KubeClient:
    def __init__(self, conn: KubeConnection, timeout: float = 10.0, transport: httpx.BaseTransport | None = None):
        self.conn = conn
        self._http = httpx.Client(base_url=conn.server, verify=conn.ssl_context, timeout=timeout, transport=transport)

    def merge_patch(self, path: str, body: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        headers = {"Content-Type": "application/merge-patch+json", **self.conn.headers()}
        kwargs = {"timeout": timeout} if timeout is not None else {}
        response = self._http.patch(path, json=body, headers=headers, **kwargs)
        response.raise_for_status()
        return response.json()

    def get(self, path: str) -> dict[str, Any]:
        response = self._http.get(path, headers=self.conn.headers())
        response.raise_for_status()
        return response.json()

    def close(self) -> None:
        self._http.close()

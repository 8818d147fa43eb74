"""Admin kubeconfig for the local cluster (certificate data embedded so the file is self-contained)."""

from __future__ import annotations

import base64
from pathlib import Path

import yaml

from cenas_localcluster.pki import Pki

CONTEXT = "cenas-local"


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def build_kubeconfig(server: str, pki: Pki) -> dict:
    """A kubeconfig document for the cluster-admin client certificate."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": CONTEXT, "cluster": {"server": server, "certificate-authority-data": _b64(pki.ca_cert)}}
        ],
        "users": [
            {
                "name": "cenas-admin",
                "user": {
                    "client-certificate-data": _b64(pki.admin_cert),
                    "client-key-data": _b64(pki.admin_key),
                },
            }
        ],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": "cenas-admin"}}],
        "current-context": CONTEXT,
    }


def write_kubeconfig(path: Path, server: str, pki: Pki) -> Path:
    path.write_text(yaml.safe_dump(build_kubeconfig(server, pki), sort_keys=False))
    path.chmod(0o600)
    return path

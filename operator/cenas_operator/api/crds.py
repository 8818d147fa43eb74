"""Load the CRDs from the source checkout and install them on a cluster (tests, demo).

In production the Helm chart installs the CRDs; the operator itself never does.
"""

import time
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from .base import VERSION

CRD_DIR = Path(__file__).resolve().parents[3] / "crds"
CRD_FILES = ("nassearches.cenas.dev.yaml", "nastrials.cenas.dev.yaml")
FIELD_MANAGER = "cenas-crds"
# libyaml's loader where PyYAML was built with it: the CRDs are ~800 lines and tests load them often.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_crds(crd_dir: Path = CRD_DIR) -> list[dict[str, Any]]:
    return [yaml.load((crd_dir / name).read_text(), Loader=_LOADER) for name in CRD_FILES]


def load_crd(plural: str, crd_dir: Path = CRD_DIR) -> dict[str, Any]:
    """The CRD whose spec.names.plural is plural (nassearches or nastrials)."""
    for crd in load_crds(crd_dir):
        if crd["spec"]["names"]["plural"] == plural:
            return crd
    raise KeyError(plural)


def openapi_schema(crd: dict[str, Any], version: str = VERSION) -> dict[str, Any]:
    for served in crd["spec"]["versions"]:
        if served["name"] == version:
            return served["schema"]["openAPIV3Schema"]
    raise KeyError(version)


def install_crds(
    api_client: client.ApiClient, crd_dir: Path = CRD_DIR, timeout_seconds: float = 60.0
) -> None:
    """Server-side apply both CRDs and wait until they are Established. Idempotent."""
    api = client.ApiextensionsV1Api(api_client)
    crds = load_crds(crd_dir)
    for crd in crds:
        api.patch_custom_resource_definition(
            crd["metadata"]["name"],
            crd,
            field_manager=FIELD_MANAGER,
            force=True,
            field_validation="Strict",
            _content_type="application/apply-patch+yaml",
        )
    deadline = time.monotonic() + timeout_seconds
    for crd in crds:
        while not _established(api.read_custom_resource_definition(crd["metadata"]["name"])):
            if time.monotonic() > deadline:
                raise TimeoutError(f"CRD {crd['metadata']['name']} not Established after {timeout_seconds}s")
            time.sleep(0.1)


def _established(crd: client.V1CustomResourceDefinition) -> bool:
    conditions = (crd.status and crd.status.conditions) or []
    return any(c.type == "Established" and c.status == "True" for c in conditions)

"""Materialise a pod's volumes as local directories, the way a kubelet's volume plugins would.

Supported: emptyDir, hostPath, configMap, secret, downwardAPI, projected (serviceAccountToken,
configMap, secret, downwardAPI) and persistentVolumeClaim bound to a hostPath/local volume."""

from __future__ import annotations

import base64
from pathlib import Path

from kubernetes import client

from cenas_localcluster.pod_plan import UnsupportedPod, field_ref

DEFAULT_TOKEN_SECONDS = 3607  # what the kube-api-access projected volume asks for


def _write_items(directory: Path, data: dict[str, bytes], items: list[dict] | None) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    selected = {i["key"]: i.get("path", i["key"]) for i in items} if items else {k: k for k in data}
    for key, rel in selected.items():
        if key not in data:
            continue
        target = directory / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data[key])


class VolumeMaterialiser:
    """Creates the host directory of every volume of a pod under its own work directory."""

    def __init__(self, core: client.CoreV1Api):
        self.core = core

    def materialise(self, pod: dict, pod_dir: Path) -> dict[str, Path]:
        paths = {}
        for index, volume in enumerate(pod["spec"].get("volumes") or []):
            where = f"spec.volumes[{index}]"
            paths[volume["name"]] = self._one(pod, volume, pod_dir / "volumes" / volume["name"], where)
        return paths

    def _one(self, pod: dict, volume: dict, target: Path, where: str) -> Path:
        ns = pod["metadata"]["namespace"]
        if "emptyDir" in volume:
            target.mkdir(parents=True, exist_ok=True)
            return target
        if "hostPath" in volume:
            return self._host_path(volume["hostPath"], where)
        if "configMap" in volume:
            src = volume["configMap"]
            _write_items(target, self._config_map(ns, src["name"], src.get("optional"), where), src.get("items"))
            return target
        if "secret" in volume:
            src = volume["secret"]
            _write_items(target, self._secret(ns, src["secretName"], src.get("optional"), where), src.get("items"))
            return target
        if "downwardAPI" in volume:
            self._downward(pod, volume["downwardAPI"].get("items") or [], target)
            return target
        if "projected" in volume:
            target.mkdir(parents=True, exist_ok=True)
            for source in volume["projected"].get("sources") or []:
                self._projection(pod, source, target, where)
            return target
        if "persistentVolumeClaim" in volume:
            return self._claim(ns, volume["persistentVolumeClaim"]["claimName"], where)
        kind = next((k for k in volume if k != "name"), "?")
        raise UnsupportedPod(f"{where}.{kind}: volume type not supported by the node agent")

    @staticmethod
    def _host_path(source: dict, where: str) -> Path:
        path = Path(source["path"])
        kind = source.get("type", "")
        if kind == "DirectoryOrCreate":
            path.mkdir(parents=True, exist_ok=True)
        elif kind == "FileOrCreate":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(exist_ok=True)
        elif not path.exists():
            raise UnsupportedPod(f"{where}.hostPath.path: {path} does not exist on the node")
        return path

    def _config_map(self, ns: str, name: str, optional: bool | None, where: str) -> dict[str, bytes]:
        try:
            cm = self.core.read_namespaced_config_map(name, ns)
        except client.ApiException as exc:
            if exc.status == 404 and optional:
                return {}
            raise UnsupportedPod(f"{where}.configMap: configmap {name!r} not found") from exc
        data = {k: v.encode() for k, v in (cm.data or {}).items()}
        data.update({k: base64.b64decode(v) for k, v in (cm.binary_data or {}).items()})
        return data

    def _secret(self, ns: str, name: str, optional: bool | None, where: str) -> dict[str, bytes]:
        try:
            secret = self.core.read_namespaced_secret(name, ns)
        except client.ApiException as exc:
            if exc.status == 404 and optional:
                return {}
            raise UnsupportedPod(f"{where}.secret: secret {name!r} not found") from exc
        return {k: base64.b64decode(v) for k, v in (secret.data or {}).items()}

    @staticmethod
    def _downward(pod: dict, items: list[dict], target: Path) -> None:
        target.mkdir(parents=True, exist_ok=True)
        for item in items:
            if "fieldRef" in item:
                (target / item["path"]).write_text(field_ref(pod, item["fieldRef"]["fieldPath"]))

    def _projection(self, pod: dict, source: dict, target: Path, where: str) -> None:
        ns = pod["metadata"]["namespace"]
        if "serviceAccountToken" in source:
            sat = source["serviceAccountToken"]
            (target / sat["path"]).write_text(self._token(pod, sat))
        elif "configMap" in source:
            src = source["configMap"]
            _write_items(target, self._config_map(ns, src["name"], src.get("optional"), where), src.get("items"))
        elif "secret" in source:
            src = source["secret"]
            _write_items(target, self._secret(ns, src["name"], src.get("optional"), where), src.get("items"))
        elif "downwardAPI" in source:
            self._downward(pod, source["downwardAPI"].get("items") or [], target)

    def _token(self, pod: dict, projection: dict) -> str:
        """A token bound to this pod (TokenRequest), as the kubelet mounts for in-cluster clients."""
        meta = pod["metadata"]
        audience = projection.get("audience")
        request = client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(
                audiences=[audience] if audience else [],  # empty: the apiserver's own audiences
                expiration_seconds=projection.get("expirationSeconds", DEFAULT_TOKEN_SECONDS),
                bound_object_ref=client.V1BoundObjectReference(
                    api_version="v1", kind="Pod", name=meta["name"], uid=meta["uid"]
                ),
            )
        )
        account = pod["spec"].get("serviceAccountName") or "default"
        response = self.core.create_namespaced_service_account_token(account, meta["namespace"], request)
        return response.status.token

    def _claim(self, ns: str, claim: str, where: str) -> Path:
        try:
            pvc = self.core.read_namespaced_persistent_volume_claim(claim, ns)
        except client.ApiException as exc:
            raise UnsupportedPod(f"{where}.persistentVolumeClaim: claim {claim!r} not found") from exc
        if not pvc.spec.volume_name:
            raise UnsupportedPod(f"{where}.persistentVolumeClaim: claim {claim!r} is not bound")
        pv = self.core.read_persistent_volume(pvc.spec.volume_name)
        source = pv.spec.host_path or pv.spec.local
        if source is None:
            raise UnsupportedPod(f"{where}.persistentVolumeClaim: volume {pv.metadata.name} is not hostPath or local")
        path = Path(source.path)
        path.mkdir(parents=True, exist_ok=True)
        return path

"""NASTrial status reports: field names and types checked against the CRD's status schema,
throttling, immediate checkpoint reports, failures that never stop training, credentials."""

import base64
import datetime
import json
from pathlib import Path

import httpx
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cenas_trainer import nastrial_status as fields
from cenas_trainer.kube import KubeClient, KubeConfigError, KubeConnection, from_kubeconfig, in_cluster
from cenas_trainer.report import NASTrialReporter

CRD = Path(__file__).resolve().parents[3] / "crds" / "nastrials.cenas.dev.yaml"


def status_schema() -> dict:
    crd = yaml.safe_load(CRD.read_text())
    version = next(v for v in crd["spec"]["versions"] if v["name"] == fields.VERSION)
    assert crd["spec"]["group"] == fields.GROUP and crd["spec"]["names"]["plural"] == fields.PLURAL
    assert "status" in version["subresources"]
    return version["schema"]["openAPIV3Schema"]["properties"]["status"]


def check(value, schema: dict, where: str = "status") -> None:
    """A small structural-schema check: unknown fields, types, enums, bounds, required."""
    kind = schema.get("type")
    if kind == "object":
        assert isinstance(value, dict), where
        props = schema.get("properties", {})
        for key, item in value.items():
            assert key in props, f"{where}.{key} is not in the NASTrial status schema (it would be pruned)"
            check(item, props[key], f"{where}.{key}")
        for key in schema.get("required", []):
            assert key in value, f"{where}.{key} is required"
    elif kind == "array":
        assert isinstance(value, list) and len(value) <= schema.get("maxItems", 10**9), where
        for i, item in enumerate(value):
            check(item, schema["items"], f"{where}[{i}]")
    elif kind == "integer":
        assert isinstance(value, int) and not isinstance(value, bool), where
    elif kind == "number":
        assert isinstance(value, int | float) and not isinstance(value, bool), where
    elif kind == "string":
        assert isinstance(value, str), where
        if schema.get("format") == "date-time":
            datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if "enum" in schema:
        assert value in schema["enum"], f"{where}={value!r} not in {schema['enum']}"
    if "minimum" in schema:
        assert value >= schema["minimum"], where
    if "maximum" in schema:
        assert value <= schema["maximum"], where


class Recorder:
    def __init__(self, fail: bool = False):
        self.requests: list[httpx.Request] = []
        self.fail = fail

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.fail:
            return httpx.Response(403, json={"kind": "Status", "reason": "Forbidden"})
        return httpx.Response(200, json={})

    @property
    def bodies(self) -> list[dict]:
        return [json.loads(r.content) for r in self.requests]


def make_reporter(recorder: Recorder, clock) -> NASTrialReporter:
    conn = KubeConnection(server="https://k8s.test:6443", ssl_context=False, token="tok")
    client = KubeClient(conn, transport=httpx.MockTransport(recorder))
    return NASTrialReporter(client, "ns1", "trial-a", "trial-a-pod", interval_seconds=30.0, clock=clock)


def test_every_report_is_a_merge_patch_of_schema_valid_trainer_fields():
    recorder, now = Recorder(), [0.0]
    reporter = make_reporter(recorder, lambda: now[0])
    reporter.progress(1, 100, 12.5, "estimated")
    reporter.checkpoint(40, "2026-01-02T03:04:05Z", "trial-a/step-40")
    reporter.result(fields.training_result(0.9731, 68_882, 574_282))
    assert reporter.flush()
    scores = fields.scoring_result([("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", 0.1)])
    schema = status_schema()
    for body in [*recorder.bodies, fields.merge(scores)]:
        check(body["status"], schema)
    request = recorder.requests[-1]
    assert request.method == "PATCH"
    assert request.url.path == "/apis/cenas.dev/v1alpha1/namespaces/ns1/nastrials/trial-a/status"
    assert request.headers["content-type"] == "application/merge-patch+json"
    assert request.headers["authorization"] == "Bearer tok"
    final = recorder.bodies[-1]["status"]
    assert final["progress"] == {"step": 1, "totalSteps": 100}
    assert final["lastCheckpoint"] == {"step": 40, "time": "2026-01-02T03:04:05Z", "path": "trial-a/step-40"}
    assert final["result"] == {"accuracyPercent": 97.31, "params": 68_882, "flops": 574_282}
    assert final["energySource"] == "Estimate" and final["podName"] == "trial-a-pod"
    assert not set(final) & {"conditions", "attempt", "emittedGrams", "suspensions"}  # the operator's


def test_progress_is_throttled_but_checkpoints_are_sent_at_once():
    recorder, now = Recorder(), [0.0]
    reporter = make_reporter(recorder, lambda: now[0])
    for step in range(1, 50):
        now[0] = step * 1.0
        reporter.progress(step, 1000, step * 2.0, "nvml")
    sent_steps = [b["status"]["progress"]["step"] for b in recorder.bodies]
    assert sent_steps == [1, 31]  # at most one per 30 s
    reporter.checkpoint(49, "2026-01-02T03:04:05Z", "trial-a/step-49")
    last = recorder.bodies[-1]["status"]
    assert last["lastCheckpoint"]["step"] == 49
    assert last["progress"]["step"] == 49 and last["energyJoules"] == 98.0  # the latest view rides along


def test_failed_reports_never_raise_and_are_counted():
    recorder, now = Recorder(fail=True), [0.0]
    reporter = make_reporter(recorder, lambda: now[0])
    reporter.progress(1, 10, 0.0, "estimated")
    assert reporter.checkpoint(1, "2026-01-02T03:04:05Z", "x/step-1") is False
    assert reporter.flush() is False
    assert reporter.failures == 3 and reporter.sent == 0


def test_scores_are_bounded_by_the_schema():
    with pytest.raises(ValueError, match="at most 256"):
        fields.scoring_result([("a", 0.5)] * 257)


def _self_signed_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-ca")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


def test_kubeconfig_with_token_and_inline_ca(tmp_path):
    cfg = {
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "k", "cluster": {"server": "https://127.0.0.1:6443/",
                      "certificate-authority-data": base64.b64encode(_self_signed_pem()).decode()}}],
        "users": [{"name": "u", "user": {"token": "abc"}}],
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u", "namespace": "team"}}],
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(cfg))
    conn = from_kubeconfig(path)
    assert conn.server == "https://127.0.0.1:6443" and conn.namespace == "team"
    assert conn.headers() == {"Authorization": "Bearer abc"}
    with pytest.raises(KubeConfigError, match="no usable context"):
        from_kubeconfig(path, context="other")


def test_in_cluster_reads_the_service_account_and_rereads_the_token(tmp_path, monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(KubeConfigError, match="not in a pod"):
        in_cluster(tmp_path)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    (tmp_path / "token").write_text("t1\n")
    (tmp_path / "ca.crt").write_bytes(_self_signed_pem())
    (tmp_path / "namespace").write_text("ns9")
    conn = in_cluster(tmp_path)
    assert conn.server == "https://10.0.0.1:443" and conn.namespace == "ns9"
    assert conn.headers()["Authorization"] == "Bearer t1"
    (tmp_path / "token").write_text("t2")  # projected tokens rotate
    assert conn.headers()["Authorization"] == "Bearer t2"

import ssl

import yaml
from cryptography import x509

from cenas_localcluster.kubeconfig import write_kubeconfig
from cenas_localcluster.pki import write_pki


def test_certificates_chain_to_the_ca_and_admin_is_a_cluster_admin(tmp_path):
    pki = write_pki(tmp_path)
    ca = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    admin = x509.load_pem_x509_certificate(pki.admin_cert.read_bytes())
    serving = x509.load_pem_x509_certificate(pki.serving_cert.read_bytes())
    admin.verify_directly_issued_by(ca)
    serving.verify_directly_issued_by(ca)
    org = admin.subject.get_attributes_for_oid(x509.oid.NameOID.ORGANIZATION_NAME)[0].value
    assert org == "system:masters"
    sans = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "127.0.0.1" in [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)]
    # the files load as a client TLS configuration
    ctx = ssl.create_default_context(cafile=str(pki.ca_cert))
    ctx.load_cert_chain(str(pki.admin_cert), str(pki.admin_key))
    assert oct(pki.sa_key.stat().st_mode & 0o777) == "0o600"


def test_kubeconfig_is_self_contained(tmp_path):
    pki = write_pki(tmp_path)
    doc = yaml.safe_load(write_kubeconfig(tmp_path / "kubeconfig", "https://127.0.0.1:6443", pki).read_text())
    assert doc["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6443"
    assert doc["users"][0]["user"]["client-certificate-data"]
    assert doc["current-context"] == doc["contexts"][0]["name"]

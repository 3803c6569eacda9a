from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from faststream.security import SASLScram512

from shared.kafka import broker_security, client_options, ssl_context
from shared.settings import ServiceSettings


def test_plaintext_needs_no_options() -> None:
    assert client_options(ServiceSettings()) == {}
    assert broker_security(ServiceSettings()) is None


def test_sasl_ssl_scram_for_a_strimzi_user() -> None:
    s = ServiceSettings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="sharaka-irm",
        kafka_sasl_password="s3cret",
    )
    opts = client_options(s)
    assert opts["security_protocol"] == "SASL_SSL"
    assert opts["sasl_mechanism"] == "SCRAM-SHA-512"
    assert opts["sasl_plain_username"] == "sharaka-irm"
    assert opts["sasl_plain_password"] == "s3cret"
    assert opts["ssl_context"] is not None
    sec = broker_security(s)
    assert isinstance(sec, SASLScram512)
    assert sec.use_ssl
    assert "s3cret" not in repr(s)  # the password never shows in logs of the settings


def _self_signed(name: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_every_ca_certificate_beside_the_ca_file_is_trusted(tmp_path: Path) -> None:
    """During a Strimzi CA renewal the secret holds ca.crt and ca-<date>.crt: trust both."""
    (tmp_path / "ca.crt").write_text(_self_signed("cluster-ca v1"))
    (tmp_path / "ca-2026-11-29T00-00-00Z.crt").write_text(_self_signed("cluster-ca v0"))
    (tmp_path / "ca.password").write_text("not a certificate")
    names = {
        dict(field[0] for field in c["subject"])["commonName"]
        for c in ssl_context(str(tmp_path / "ca.crt")).get_ca_certs()
    }
    assert names == {"cluster-ca v1", "cluster-ca v0"}

from faststream.security import SASLScram512

from shared.kafka import broker_security, client_options
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

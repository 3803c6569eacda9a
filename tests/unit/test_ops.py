"""The ops commands' pieces that need no broker: connection options from the service's own
settings, the rendering of dead letters (personal data withheld), targets and the store map."""

from __future__ import annotations

import io
import json
import re
import ssl
from datetime import UTC, datetime
from pathlib import Path

import certifi
import pytest
from aiokafka import ConsumerRecord

from shared.ops import cli, dlq, groups, rebuild
from shared.ops.context import SERVICES, load_context, read_password

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def irm_pod_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment an IRM pod has in the cluster (deploy/k8s/base/config/irm.env)."""
    monkeypatch.setenv("IRM_KAFKA_BOOTSTRAP", "sharaka-kafka-bootstrap:9093")
    monkeypatch.setenv("IRM_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("IRM_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("IRM_KAFKA_SASL_USERNAME", "sharaka-irm")
    monkeypatch.setenv("IRM_KAFKA_SASL_PASSWORD", "irm-secret")
    monkeypatch.setenv("IRM_KAFKA_SSL_CAFILE", certifi.where())
    monkeypatch.setenv("IRM_DATABASE_URL", "postgresql://irm@db/irm")
    monkeypatch.setenv("SHARAKA_KAFKA_BOOTSTRAP", "never-used:1")  # what the old tool read


def test_the_service_settings_give_tls_and_sasl(irm_pod_env: None) -> None:
    ctx = load_context("irm")
    opts = ctx.kafka()
    assert opts["bootstrap_servers"] == "sharaka-kafka-bootstrap:9093"
    assert opts["security_protocol"] == "SASL_SSL"
    assert opts["sasl_mechanism"] == "SCRAM-SHA-512"
    assert opts["sasl_plain_username"] == "sharaka-irm"
    assert opts["sasl_plain_password"] == "irm-secret"
    assert isinstance(opts["ssl_context"], ssl.SSLContext)
    assert ctx.settings.database_url == "postgresql://irm@db/irm"
    assert ctx.group == "sharaka-irm"
    assert ctx.replay_group == "sharaka-irm-dlq-replay"


def test_the_ops_user_replaces_only_the_credentials(irm_pod_env: None) -> None:
    args = cli.parser().parse_args(
        ["dlq", "list", "--service", "irm", "--kafka-user", "sharaka-ops", "--kafka-password-file", "-"]
    )
    stdin = io.StringIO("ops-secret\n")
    ctx = load_context(
        "irm", kafka_user=args.kafka_user, kafka_password=read_password(args.kafka_password_file, stdin)
    )
    opts = ctx.kafka()
    assert (opts["sasl_plain_username"], opts["sasl_plain_password"]) == ("sharaka-ops", "ops-secret")
    assert opts["security_protocol"] == "SASL_SSL"
    assert opts["bootstrap_servers"] == "sharaka-kafka-bootstrap:9093"
    assert isinstance(opts["ssl_context"], ssl.SSLContext)


def test_a_password_file(tmp_path: Path) -> None:
    f = tmp_path / "password"
    f.write_text("from-a-secret\n")
    assert read_password(str(f)) == "from-a-secret"


def test_plaintext_locally_with_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IRM_KAFKA_SECURITY_PROTOCOL", raising=False)
    ctx = load_context("irm", bootstrap="127.0.0.1:1234", topic_prefix="t1.")
    assert ctx.kafka() == {"bootstrap_servers": "127.0.0.1:1234"}
    assert ctx.group == "t1.sharaka-irm"
    assert ctx.topic("ogp.plans.v1") == "t1.ogp.plans.v1"


def test_every_service_knows_what_it_consumes() -> None:
    consumed = {s: load_context(s, topic_prefix="").consumed_topics() for s in SERVICES}
    assert consumed["irm"] == ["ogp.consultation.v1", "ogp.plans.v1"]
    assert "sharaka.plans.contacts.v1" in consumed["notifications"]


def _dead_letter(
    source_topic: str, value: bytes | None, detail: str = "bad field"
) -> ConsumerRecord[bytes, bytes]:
    headers = [
        ("ce_type", b"ogp.plans.contact_registered.v1"),
        ("ce_id", b"e1"),
        ("dlq_reason", b"schema_invalid"),
        ("dlq_detail", detail.encode()),
        ("dlq_attempts", b"1"),
        ("dlq_source_topic", source_topic.encode()),
        ("dlq_source_partition", b"2"),
        ("dlq_source_offset", b"7"),
    ]
    return ConsumerRecord("t.sharaka.notifications.dlq", 0, 3, 0, 0, b"k", value, None, 1, 1, headers)


def test_a_public_letter_is_shown_in_full() -> None:
    d = dlq.letter(_dead_letter("t.ogp.plans.v1", json.dumps({"title": "Open data"}).encode()), "t.")
    text = dlq.render(d)
    assert "reason:   schema_invalid" in text
    assert "source:   t.ogp.plans.v1[2]@7" in text
    assert '"title": "Open data"' in text
    assert "bad field" in text
    assert d.row()["detail"] == "bad field"


def test_a_private_letter_shows_keys_only() -> None:
    value = json.dumps({"email": "ada@example.org", "phone": "+33612345678", "name": "Ada"}).encode()
    d = dlq.letter(
        _dead_letter("t.sharaka.plans.contacts.v1", value, detail="input_value='ada@example.org'"), "t."
    )
    text = dlq.render(d)
    assert "keys: email, name, phone" in text
    assert "ada@example.org" not in text and "+33612345678" not in text and "Ada" not in text
    assert "ada@example.org" not in json.dumps(d.row())
    assert "reason:   schema_invalid" in text


def test_a_private_letter_that_is_not_json_is_not_printed() -> None:
    d = dlq.letter(_dead_letter("sharaka.consultation.contacts.v1", b"ada@example.org,+336"), "")
    assert "ada@example.org" not in dlq.render(d)


def test_reset_targets() -> None:
    assert groups.parse_target("earliest") == "earliest"
    assert groups.parse_target("latest") == "latest"
    assert groups.parse_target("2026-11-01T08:00:00") == datetime(2026, 11, 1, 8, tzinfo=UTC)
    with pytest.raises(ValueError, match="ISO"):
        groups.parse_target("yesterday")


def test_every_table_is_either_a_source_of_truth_or_rebuildable() -> None:
    for service in SERVICES:
        sql = "\n".join(p.read_text() for p in (REPO / "services" / service / "migrations").glob("*.sql"))
        tables = set(re.findall(r"CREATE TABLE (\w+)", sql))
        stores = rebuild.STORES[service]
        assert not set(stores.truth) & set(stores.rebuildable), service
        assert tables <= set(stores.truth) | set(stores.rebuildable), (service, tables - set(stores.truth))


def test_the_rebuild_steps_name_the_tables_and_the_group() -> None:
    text = "\n".join(rebuild.steps("irm", "sharaka-irm", ["ogp.plans.v1"]))
    assert "TRUNCATE plans_seen, irm_commitments, compliance_facts" in text
    assert "DELETE FROM inbox WHERE consumer = 'sharaka-irm' AND topic IN ('ogp.plans.v1')" in text
    assert "reviews" in text  # named as a source of truth, never emptied
    assert "TRUNCATE" not in "\n".join(rebuild.steps("plans", "sharaka-plans", ["ogp.irm.v1"]))


def test_the_old_dlq_command_is_an_alias(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared import dlq as old

    seen: list[list[str]] = []
    monkeypatch.setattr(old, "_ops_main", lambda argv: seen.append(list(argv)) or 0)
    assert old.main(["list", "--service", "irm"]) == 0
    assert seen == [["dlq", "list", "--service", "irm"]]


def test_the_ops_user_never_moves_a_group_on_a_private_contacts_topic() -> None:
    ctx = load_context("notifications", topic_prefix="t.")
    topics = groups.resettable(ctx, ctx.consumed_topics())
    assert "t.ogp.plans.v1" in topics and "t." not in topics
    assert not [t for t in topics if "contacts" in t]
    assert [t for t in ctx.consumed_topics() if "contacts" in t]


def test_a_letter_from_a_contacts_topic_is_not_replayable() -> None:
    assert dlq.letter(_dead_letter("t.sharaka.plans.contacts.v1", b"{}"), "t.").unreplayable
    assert not dlq.letter(_dead_letter("t.ogp.plans.v1", b"{}"), "t.").unreplayable


def _runbook_commands() -> list[list[str]]:
    """Every ``python -m shared.ops ...`` and ``ops_run <service> ...`` line of the runbook."""
    import shlex

    text = (REPO / "docs" / "runbook.md").read_text()
    found: list[list[str]] = []
    for line in text.splitlines():
        line = line.split("  #")[0].strip()
        if "python -m shared.ops " in line and not line.startswith("`"):
            found.append(shlex.split(line.split("python -m shared.ops ", 1)[1]))
        elif line.startswith("ops_run ") and "()" not in line:
            found.append(shlex.split(line)[2:])
    return found


def test_every_ops_command_in_the_runbook_parses() -> None:
    commands = _runbook_commands()
    kinds = {tuple(c[:2]) if c[0] in ("dlq", "group") else (c[0],) for c in commands}
    assert kinds == {
        ("dlq", "list"),
        ("dlq", "inspect"),
        ("dlq", "replay"),
        ("group", "reset"),
        ("rebuild",),
        ("migrate",),
    }
    for argv in commands:
        args = cli.parser().parse_args(argv)
        assert args.service in SERVICES
        if args.command == "group":
            groups.parse_target(args.to)

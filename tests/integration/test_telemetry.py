"""OpenTelemetry against a real OTLP/HTTP receiver started by the test: the resource follows the
``OTEL_*`` variables, and one trace runs from the HTTP request through the outbox (a PRODUCER
span per record) to another service's consumer (a CONSUMER span), on the current messaging
semantic conventions."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from devstack.ports import free_port
from devstack.services import ServiceProcess
from shared.events import topics
from shared.telemetry import resource_for
from tests.conftest import Env, token
from tests.helpers import eventually, processes_running

STAFF = token("staff")


@dataclass
class Received:
    service: str
    resource: dict[str, Any]
    span: Span
    attributes: dict[str, Any]


@dataclass
class Receiver:
    """An OTLP/HTTP (protobuf) collector in a thread: ``POST /v1/traces`` decoded, the rest
    (metrics) accepted and dropped."""

    port: int
    spans: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def take(self, body: bytes) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for rs in request.resource_spans:
            resource = {a.key: _value(a.value) for a in rs.resource.attributes}
            for ss in rs.scope_spans:
                for span in ss.spans:
                    item = Received(
                        str(resource.get("service.name")),
                        resource,
                        span,
                        {a.key: _value(a.value) for a in span.attributes},
                    )
                    with self.lock:
                        self.spans.append(item)

    def snapshot(self) -> list[Received]:
        with self.lock:
            return list(self.spans)


def _value(v: AnyValue) -> Any:
    kind = v.WhichOneof("value")
    return getattr(v, kind) if kind else None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver(free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path == "/v1/traces":
                assert self.headers.get("Content-Type") == "application/x-protobuf"
                rec.take(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", rec.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()


@pytest.fixture
async def services(env: Env, receiver: Receiver, tmp_path: Path) -> AsyncIterator[dict[str, ServiceProcess]]:
    otel = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_METRIC_EXPORT_INTERVAL": "60000",
        "OTEL_RESOURCE_ATTRIBUTES": f"deployment.environment.name=test-{env.run_id},service.version=9.9.9",
    }
    plans_env = {**env.env_vars("PLANS_", "plans", TIMERS_ENABLED="false"), **otel}
    plans_env["OTEL_SERVICE_NAME"] = "custom-name"
    procs = {
        "plans": ServiceProcess("plans", plans_env, tmp_path),
        "consultation": ServiceProcess(
            "consultation", {**env.env_vars("CONSULTATION_", "consultation"), **otel}, tmp_path
        ),
    }
    async with processes_running(procs):
        yield procs


def test_resource_defaults_yield_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    plain = resource_for("irm").attributes
    assert plain["service.name"] == "sharaka-irm" and plain["service.namespace"] == "sharaka"
    monkeypatch.setenv(
        "OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs,service.namespace=ogp,k8s.pod.name=p-1"
    )
    attrs = resource_for("irm").attributes
    assert attrs["service.name"] == "from-attrs" and attrs["service.namespace"] == "ogp"
    assert attrs["k8s.pod.name"] == "p-1"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "custom-name")  # wins over OTEL_RESOURCE_ATTRIBUTES
    assert resource_for("irm").attributes["service.name"] == "custom-name"


async def test_one_trace_from_http_through_kafka_to_the_consumer(
    env: Env, receiver: Receiver, services: dict[str, ServiceProcess]
) -> None:
    plans = services["plans"].base_url
    async with httpx.AsyncClient(timeout=10) as http:
        member = await http.post(f"{plans}/v1/members", headers=STAFF,
                                 json={"name": "Otel", "kind": "national", "country_code": "TN"})  # fmt: skip
        assert member.status_code == 201, member.text
        r = await http.post(f"{plans}/v1/plans", headers=STAFF, json={
            "member_id": member.json()["id"], "title": "Traced plan",
            "start_date": "2025-09-01", "end_date": "2027-08-31",
            "point_of_contact": {"name": "T. Race", "email": "t@example.org", "language": "en"},
        })  # fmt: skip
        assert r.status_code == 201, r.text
    topic = env.topic(topics.PLANS)

    def server_span() -> Received | None:
        return next(
            (
                s
                for s in receiver.snapshot()
                if s.span.kind == Span.SPAN_KIND_SERVER and s.span.name == "POST /v1/plans"
            ),
            None,
        )

    server = await eventually(lambda: _async(server_span()), timeout=30)
    trace_id = server.span.trace_id

    def in_trace(kind: int) -> list[Received]:
        return [s for s in receiver.snapshot() if s.span.trace_id == trace_id and s.span.kind == kind]

    def on_topic(kind: int) -> list[Received]:
        return [s for s in in_trace(kind) if s.attributes.get("messaging.destination.name") == topic]

    consumed = await eventually(
        lambda: _async(on_topic(Span.SPAN_KIND_CONSUMER)),
        until=lambda ss: len(ss) >= 1,
        timeout=60,
        every=0.3,
    )
    consumer = consumed[0]

    def producers() -> list[Received]:
        return [
            s
            for s in on_topic(Span.SPAN_KIND_PRODUCER)
            if s.attributes["messaging.message.id"] == consumer.attributes["messaging.message.id"]
        ]

    # Each process exports on its own schedule: the consumer's span may arrive first.
    (producer,) = await eventually(
        lambda: _async(producers()), until=lambda ss: len(ss) >= 1, timeout=30, every=0.3
    )
    # Every event the request wrote got its own PRODUCER span in the request's trace.
    assert {s.attributes["messaging.destination.name"] for s in in_trace(Span.SPAN_KIND_PRODUCER)} >= {topic}

    # The resource: OTEL_SERVICE_NAME overrides the default name, OTEL_RESOURCE_ATTRIBUTES is kept.
    assert server.service == producer.service == "custom-name"
    assert server.resource["deployment.environment.name"] == f"test-{env.run_id}"
    assert server.resource["service.version"] == "9.9.9"
    assert server.resource["service.namespace"] == "sharaka"
    assert consumer.service == "sharaka-consultation"

    # HTTP → outbox → Kafka → consumer, parent to child.
    assert producer.span.parent_span_id == server.span.span_id
    assert consumer.span.parent_span_id == producer.span.span_id

    assert producer.span.name == f"send {topic}"
    p = producer.attributes
    assert p["messaging.system"] == "kafka"
    assert p["messaging.operation.type"] == "send"
    assert p["messaging.destination.name"] == topic
    assert p["messaging.kafka.message.key"] == r.json()["id"]
    assert p["messaging.message.id"]
    assert p["messaging.destination.partition.id"].isdigit() and p["messaging.kafka.offset"] >= 0

    assert consumer.span.name == f"process {topic}"
    c = consumer.attributes
    assert c["messaging.system"] == "kafka"
    assert c["messaging.operation.type"] == "process"
    assert c["messaging.destination.name"] == topic
    assert c["messaging.consumer.group.name"] == f"{env.prefix}sharaka-consultation"
    assert c["messaging.destination.partition.id"] == p["messaging.destination.partition.id"]
    assert c["messaging.kafka.offset"] == p["messaging.kafka.offset"]
    assert c["messaging.message.id"] == p["messaging.message.id"]
    assert "messaging.kafka.message.offset" not in c  # the old convention's name is gone


async def _async(value: Any) -> Any:
    return value

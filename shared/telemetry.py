"""OpenTelemetry set-up: a tracer provider always (so trace ids exist for logs and Kafka
headers), exporters only when an OTLP endpoint is configured through the standard
``OTEL_EXPORTER_OTLP_ENDPOINT`` variable.
"""

from __future__ import annotations

import os

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

_configured = False


def configure_telemetry(service: str) -> None:
    global _configured
    if _configured:
        return
    resource = Resource.create({"service.name": f"sharaka-{service}", "service.namespace": "sharaka"})
    provider = TracerProvider(resource=resource)
    readers = []
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
    trace.set_tracer_provider(provider)
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=readers))
    _configured = True


def tracer(name: str = "sharaka") -> trace.Tracer:
    return trace.get_tracer(name)

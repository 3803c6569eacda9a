"""OpenTelemetry set-up: a tracer provider always (so trace ids exist for logs and Kafka
headers), exporters only when an OTLP endpoint is configured through the standard
``OTEL_EXPORTER_OTLP_ENDPOINT`` variable.

Without an exporter nothing would ever read a span, so none is recorded: the sampler drops them
all, which still gives every request and event its trace and span ids (logs carry them, and
``traceparent`` still crosses Kafka) without the cost of building spans nobody sees.
"""

from __future__ import annotations

import os

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

_configured = False


def configure_telemetry(service: str) -> None:
    global _configured
    if _configured:
        return
    resource = Resource.create({"service.name": f"sharaka-{service}", "service.namespace": "sharaka"})
    exporting = bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))
    provider = TracerProvider(resource=resource, sampler=None if exporting else ALWAYS_OFF)
    readers = []
    if exporting:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
    trace.set_tracer_provider(provider)
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=readers))
    _configured = True


def tracer(name: str = "sharaka") -> trace.Tracer:
    return trace.get_tracer(name)

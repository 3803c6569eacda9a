"""OpenTelemetry set-up: a tracer provider always (so trace ids exist for logs and Kafka
headers), exporters only when an OTLP endpoint is configured through the standard
``OTEL_EXPORTER_OTLP_ENDPOINT`` variable.

Without an exporter nothing would ever read a span, so none is recorded: the sampler drops them
all, which still gives every request and event its trace and span ids (logs carry them, and
``traceparent`` still crosses Kafka) without the cost of building spans nobody sees. Hot paths
(the outbox relay) ask :func:`exporting` and skip span creation altogether.

The resource follows the standard variables, through the SDK's own detectors: ``service.name``
is ``sharaka-<service>`` unless ``OTEL_SERVICE_NAME`` (or a ``service.name`` in
``OTEL_RESOURCE_ATTRIBUTES``) says otherwise, and every ``OTEL_RESOURCE_ATTRIBUTES`` entry is
kept. The batch processor's ``OTEL_BSP_*`` and the exporter's ``OTEL_EXPORTER_OTLP_*``
variables apply as the SDK documents them.
"""

from __future__ import annotations

import asyncio
import os

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import SERVICE_NAME, OTELResourceDetector, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

_configured = False
_exporting = False
_provider: TracerProvider | None = None
_meters: MeterProvider | None = None


def resource_for(service: str) -> Resource:
    """The process's resource: Sharaka's defaults under what the ``OTEL_*`` variables say.

    ``Resource.create`` lets the attributes passed to it win over the environment's, so the
    defaults go in only where the environment (read by the SDK's ``OTELResourceDetector``)
    is silent.
    """
    defaults: dict[str, str] = {SERVICE_NAME: f"sharaka-{service}", "service.namespace": "sharaka"}
    from_env = OTELResourceDetector().detect().attributes
    return Resource.create({**defaults, **from_env})


def configure_telemetry(service: str) -> None:
    global _configured, _exporting, _provider, _meters
    if _configured:
        return
    resource = resource_for(service)
    exporting = bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )
    provider = TracerProvider(resource=resource, sampler=None if exporting else ALWAYS_OFF)
    readers = []
    if exporting:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
    trace.set_tracer_provider(provider)
    _meters = MeterProvider(resource=resource, metric_readers=readers)
    metrics.set_meter_provider(_meters)
    _provider = provider
    _exporting = exporting
    _configured = True


def exporting() -> bool:
    """Whether spans go anywhere; when not, hot paths do not build them at all."""
    return _exporting


async def flush_telemetry(timeout_s: float) -> None:
    """Export what is still buffered (at shutdown), within ``timeout_s``; a no-op without an
    exporter. The provider stays usable (several runtimes may share a test process)."""
    if not _exporting or _provider is None:
        return
    millis = max(1, int(timeout_s * 1000))
    provider, meters = _provider, _meters
    await asyncio.to_thread(provider.force_flush, millis)
    if meters is not None:
        await asyncio.to_thread(meters.force_flush, millis)


def tracer(name: str = "sharaka") -> trace.Tracer:
    return trace.get_tracer(name)

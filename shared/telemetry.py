"""OpenTelemetry set-up: a tracer provider always (so trace ids exist for logs and Kafka
headers), exporters only when an OTLP endpoint is configured through the standard
``OTEL_EXPORTER_OTLP_ENDPOINT`` variable.

Without an exporter nothing would ever read a span, so none is recorded: the sampler drops them
all, which still gives every request and event its trace and span ids (logs carry them, and
``traceparent`` still crosses Kafka) without the cost of building spans nobody sees. Hot paths
(the outbox relay) ask :func:`exporting` and skip span creation altogether.

HTTP requests get their server span from OpenTelemetry's FastAPI instrumentation when spans are
exported; without an exporter, :class:`TraceContext` gives each request the same trace context
(the caller's ``traceparent`` continued, or a new trace) without the instrumentation's per-request
attributes, metrics and wrappers, which nothing would read (measured: about a tenth of the CPU of a
small write). FastAPI's own built-in telemetry is left off: the instrumentation does that work.

The resource follows the standard variables, through the SDK's own detectors: ``service.name``
is ``sharaka-<service>`` unless ``OTEL_SERVICE_NAME`` (or a ``service.name`` in
``OTEL_RESOURCE_ATTRIBUTES``) says otherwise, and every ``OTEL_RESOURCE_ATTRIBUTES`` entry is
kept. The batch processor's ``OTEL_BSP_*`` and the exporter's ``OTEL_EXPORTER_OTLP_*``
variables apply as the SDK documents them.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from opentelemetry import context as otel_context
from opentelemetry import metrics, propagate, trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import SERVICE_NAME, OTELResourceDetector, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import SpanKind
from starlette.types import ASGIApp, Receive, Scope, Send

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


#: FastAPI's built-in telemetry, off: ``FastAPI(telemetry=NATIVE_TELEMETRY_OFF)``.
NATIVE_TELEMETRY_OFF: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
}


class TraceContext:
    """The request's trace context when no span is exported: the caller's (``traceparent``,
    ``tracestate``, ``baggage``, whatever the configured propagators read) continued, or a new
    trace, with a server span current for the whole request, so logs carry its ids and events
    written by the request carry its ``traceparent``. The span is not recorded (the sampler drops
    it), so nothing about the request is gathered."""

    def __init__(self, app: ASGIApp, excluded_paths: Iterable[str]) -> None:
        self.app = app
        self._excluded = frozenset(excluded_paths)
        self._fields = frozenset(f.lower().encode("latin-1") for f in propagate.get_global_textmap().fields)
        self._tracer = tracer("sharaka.http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self._excluded:
            await self.app(scope, receive, send)
            return
        carrier: dict[str, str] = {}
        for name, value in scope["headers"]:
            if name in self._fields:
                key = name.decode("latin-1")
                text = value.decode("latin-1")
                carrier[key] = f"{carrier[key]},{text}" if key in carrier else text
        parent = propagate.extract(carrier) if carrier else None
        span = self._tracer.start_span(scope["method"], context=parent, kind=SpanKind.SERVER)
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        try:
            await self.app(scope, receive, send)
        finally:
            otel_context.detach(token)
            span.end()


def instrument_app(app: FastAPI, excluded_paths: Iterable[str]) -> None:
    """Server spans for ``app``'s requests: the FastAPI instrumentation's when exporting (one span
    per request; per-chunk send/receive spans cost more than they tell), :class:`TraceContext`
    otherwise. Decided when the app first serves (its middleware stack is built then), after
    :func:`configure_telemetry`."""
    excluded = list(excluded_paths)
    plain_build: Callable[[], ASGIApp] = app.build_middleware_stack
    FastAPIInstrumentor.instrument_app(
        app, excluded_urls=",".join(p.strip("/") for p in excluded), exclude_spans=["send", "receive"]
    )
    traced_build: Callable[[], ASGIApp] = app.build_middleware_stack

    def build_middleware_stack() -> ASGIApp:
        return traced_build() if _exporting else TraceContext(plain_build(), excluded)

    app.build_middleware_stack = build_middleware_stack  # type: ignore[method-assign]

"""Prometheus metrics shared by every service (each process is one service, so the scrape job
labels them; no ``service`` label is needed here)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

OUTBOX_BACKLOG = Gauge("sharaka_outbox_backlog", "Outbox rows not yet published")
OUTBOX_OLDEST_AGE = Gauge("sharaka_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row")
OUTBOX_PUBLISHED = Counter("sharaka_outbox_published_total", "Events published by the relay")
RELAY_LEADER = Gauge("sharaka_outbox_relay_leader", "1 when this process holds the relay lock")
KAFKA_REACHABLE = Gauge(
    "sharaka_kafka_reachable",
    "1 when a Kafka broker answered the last metadata request, 0 while Kafka is unreachable "
    "(the service stays ready; writes wait in the outbox)",
)

EVENTS_CONSUMED = Counter(
    "sharaka_events_consumed_total",
    "Events read from Kafka, by outcome (applied, duplicate, ignored, dead_lettered)",
    ["event_type", "outcome"],
)
CONSUMER_RETRIES = Counter("sharaka_consumer_retries_total", "Handler retries after a failure")
CONSUMER_LAG = Gauge(
    "sharaka_consumer_lag", "Messages behind the end of the partition", ["topic", "partition"]
)
EVENT_PROCESSING = Histogram(
    "sharaka_event_processing_seconds",
    "Time to apply one event (transaction included)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

HTTP_REQUESTS = Counter("sharaka_http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_DURATION = Histogram(
    "sharaka_http_request_seconds",
    "HTTP request duration",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)

DELIVERIES = Counter(
    "sharaka_deliveries_total",
    "Notification deliveries by channel and outcome",
    ["channel", "outcome"],
)
SMS_SEGMENTS = Counter(
    "sharaka_sms_segments_total",
    "SMS segments handed to the gateway (what the provider bills: 160 GSM-7 or 70 UCS-2 characters each)",
)

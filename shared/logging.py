"""structlog JSON logs that carry the current OpenTelemetry trace and span ids.

Ids are rendered with ``format_trace_id``/``format_span_id`` (32/16 lower-case hex digits), the
form every trace backend searches for; ``hex()`` would drop leading zeros.

No line carries personal data, whoever logs it (our code, uvicorn, aiokafka): an exception is
rendered as its types and frames only, never its message (asyncpg's quotes the failing row, e-mail
and phone included), and every text value has database row details cut and e-mail addresses and
phone numbers masked (:func:`shared.privacy.scrub`).
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import MutableMapping
from typing import Any

import structlog
from opentelemetry import trace
from opentelemetry.trace import format_span_id, format_trace_id

from shared.privacy import scrub


def _add_trace_ids(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    ctx = trace.get_current_span().get_span_context()
    if ctx.is_valid:
        event_dict["trace_id"] = format_trace_id(ctx.trace_id)
        event_dict["span_id"] = format_span_id(ctx.span_id)
    return event_dict


def safe_traceback(exc: BaseException) -> str:
    """The exception's types and frames, the causes after it, without any exception message:
    a message may quote request data or a database row (personal data included); the frames say
    where it went wrong, which is what a reader of the log needs."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        kind = type(current)
        parts.append(f"{'' if not parts else 'caused by '}{kind.__module__}.{kind.__qualname__}\n")
        parts.extend(traceback.format_tb(current.__traceback__))
        current = current.__cause__ or current.__context__
    return "".join(parts)


def _exception_of(exc_info: Any) -> BaseException | None:
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple):
        return exc_info[1] if isinstance(exc_info[1], BaseException) else None
    if exc_info:
        return sys.exc_info()[1]
    return None


def _safe_exception(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """In place of ``format_exc_info``, which renders the exception's message too."""
    exc = _exception_of(event_dict.pop("exc_info", None))
    if exc is not None:
        event_dict["error_type"] = type(exc).__name__
        event_dict["exception"] = safe_traceback(exc)
    return event_dict


#: Values that are opaque ids: never masked (a run of digits in a UUID is not a phone number).
_IDS = frozenset({"request_id", "trace_id", "span_id", "timestamp"})


def _scrub_values(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in event_dict.items():
        if isinstance(value, str) and key not in _IDS:
            event_dict[key] = scrub(value)
    return event_dict


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send structlog and stdlib logs (uvicorn, aiokafka, faststream) as JSON to stdout."""
    lvl = logging.getLevelName(level.upper())
    if not isinstance(lvl, int):
        lvl = logging.INFO

    def _add_service(
        _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        event_dict.setdefault("service", service)
        return event_dict

    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_service,
        _add_trace_ids,
    ]
    structlog.configure(
        processors=[
            # First: a line below the level costs a level check, not the whole chain (the request
            # middleware's INFO line, at WARNING, cost about 10 us per request before it).
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _safe_exception,
            _scrub_values,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(lvl)
    # uvicorn's loggers go through the handler above, whatever configured them before (uvicorn's
    # own default config gives them a plain-text handler that prints exception messages).
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    # Access logs would repeat what the request middleware already logs with more context.
    logging.getLogger("uvicorn.access").disabled = True
    for noisy in ("aiokafka", "faststream"):
        logging.getLogger(noisy).setLevel(max(lvl, logging.WARNING))


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)

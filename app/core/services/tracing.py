"""OpenTelemetry tracing, on when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or its ``_TRACES_``
variant) is set: spans for requests (named by route template), SQL statements, Redis calls,
SMTP sends and queue tasks, exported over OTLP/HTTP in a background thread.

A task carries the trace context of the code that queued it (W3C ``traceparent`` in its
labels, kept in the outbox row until it is sent), so its span joins that trace. Off, nothing
here runs per request: no middleware, no instrumentation, no log fields.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.typing import EventDict, WrappedLogger

from app.core.configs import AppConfig

if TYPE_CHECKING:  # the SDK is imported only when tracing is on
    from opentelemetry.sdk.trace import TracerProvider

TRACE_LABELS = ("traceparent", "tracestate")


class _State:
    provider: "TracerProvider | None" = None


_state = _State()
tracer = trace.get_tracer("app")


def tracing_enabled() -> bool:
    return _state.provider is not None


def configure_tracing(config: AppConfig) -> None:
    """Install the tracer provider and instrument Redis, once per process; a no-op without an
    endpoint."""
    endpoint = config.traces_endpoint
    if not endpoint or _state.provider is not None:
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create(
        {
            "service.name": config.OTEL_SERVICE_NAME,
            "deployment.environment.name": str(config.APP_ENV),
        }
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    RedisInstrumentor().instrument(tracer_provider=provider)
    _state.provider = provider


def instrument_app(app: FastAPI) -> None:
    """One span per request, named ``METHOD /route/{template}``."""
    if _state.provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=_state.provider, exclude_spans=["receive", "send"]
    )


def instrument_engine(engine: AsyncEngine) -> None:
    """One span per SQL statement on ``engine``."""
    if _state.provider is None:
        return
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    # The package declares SQLAlchemy < 2.1; its engine events are unchanged in 2.1 (tested).
    SQLAlchemyInstrumentor().instrument(
        engine=engine.sync_engine,
        tracer_provider=_state.provider,
        enable_commenter=False,
        skip_dep_check=True,
    )


def flush(timeout_seconds: float = 5.0) -> None:
    """Send the spans still buffered (at shutdown)."""
    if _state.provider is not None:
        _state.provider.force_flush(round(timeout_seconds * 1000))


def current_trace_labels() -> dict[str, str]:
    """The current trace context as task labels (empty when tracing is off)."""
    if _state.provider is None:
        return {}
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return {key: value for key, value in carrier.items() if key in TRACE_LABELS}


@contextmanager
def task_span(task_name: str, task_id: str, labels: Mapping[str, Any]) -> Iterator[None]:
    """A span for one task run, child of the trace that queued it."""
    if _state.provider is None:
        yield
        return
    parent = propagate.extract({key: str(labels[key]) for key in TRACE_LABELS if key in labels})
    with tracer.start_as_current_span(
        f"task {task_name}",
        context=parent,
        kind=SpanKind.CONSUMER,
        attributes={"messaging.operation.type": "process", "messaging.message.id": task_id},
    ):
        yield


@contextmanager
def client_span(name: str, **attributes: str | int) -> Iterator[None]:
    """A span around a call to another service (SMTP); errors mark it failed."""
    if _state.provider is None:
        yield
        return
    with tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=attributes) as span:
        try:
            yield
        except Exception as error:
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            raise


def add_trace_ids(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    """structlog processor: ``trace_id`` and ``span_id`` of the current span, if any."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict["trace_id"] = format(context.trace_id, "032x")
        event_dict["span_id"] = format(context.span_id, "016x")
    return event_dict


__all__ = [
    "add_trace_ids",
    "client_span",
    "configure_tracing",
    "current_trace_labels",
    "flush",
    "instrument_app",
    "instrument_engine",
    "task_span",
    "tracing_enabled",
]

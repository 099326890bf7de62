"""Prometheus metrics (``prometheus-client``), on with ``METRICS_ENABLED``.

The API serves them at ``/metrics``; queue workers on ``METRICS_WORKER_PORT``. Several processes
(``serve --workers N``, ``worker``) share one directory, ``PROMETHEUS_MULTIPROC_DIR``, which
the command sets before its processes start (``app.cli``): any one of them reports the sum of
all.
Labels are bounded: route templates, status classes, task names, known methods.
"""

import asyncio
import os
from collections.abc import Callable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response

from app.core.configs import AppConfig

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED_ROUTE = "<unmatched>"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_STATUS_CLASSES = {code: f"{code // 100}xx" for code in range(100, 600)}


class _Switch:
    """Whether this process records metrics: ``configure_metrics`` turns it on."""

    on = False


switch = _Switch()

REQUESTS = Counter("http_requests_total", "HTTP requests answered.", ["method", "route", "status"])
REQUEST_SECONDS = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
IN_FLIGHT = Gauge(
    "http_requests_in_flight", "HTTP requests being answered.", multiprocess_mode="livesum"
)
DB_CHECKED_OUT = Gauge(
    "db_pool_checked_out",
    "Database connections in use.",
    multiprocess_mode="livesum",
)
DB_OVERFLOW = Gauge(
    "db_pool_overflow",
    "Database connections open beyond DATABASE_POOL_SIZE.",
    multiprocess_mode="livesum",
)
CACHE_LOOKUPS = Counter("cache_lookups_total", "Cache reads.", ["result"])
RATE_LIMITED = Counter(
    "rate_limit_rejections_total", "Requests refused by a rate limit (429).", ["route"]
)
QUEUE_PUSHES = Counter("queue_pushes_total", "Tasks queued.", ["task"])
TASK_RUNS = Counter("task_runs_total", "Task runs, by outcome.", ["task", "outcome"])
TASK_SECONDS = Histogram(
    "task_duration_seconds",
    "Time one task run took.",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0),
)
OUTBOX_DEPTH = Gauge(
    "outbox_depth", "Tasks waiting in the outbox table.", multiprocess_mode="mostrecent"
)
OUTBOX_OLDEST = Gauge(
    "outbox_oldest_seconds",
    "Age of the oldest task waiting in the outbox table.",
    multiprocess_mode="mostrecent",
)


def configure_metrics(config: AppConfig) -> None:
    switch.on = config.METRICS_ENABLED


def _registry() -> CollectorRegistry:
    if os.environ.get(MULTIPROC_DIR_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


def method_label(method: str) -> str:
    return method if method in _METHODS else "other"


def observe_request(method: str, route: str | None, status: int, seconds: float) -> None:
    method = method_label(method)
    route = route or UNMATCHED_ROUTE
    REQUESTS.labels(method, route, _STATUS_CLASSES.get(status, "other")).inc()
    REQUEST_SECONDS.labels(method, route).observe(seconds)


def count_cache_lookup(hit: bool) -> None:
    if switch.on:
        CACHE_LOOKUPS.labels("hit" if hit else "miss").inc()


def count_rate_limited(route: str | None) -> None:
    if switch.on:
        RATE_LIMITED.labels(route or UNMATCHED_ROUTE).inc()


def count_push(task_name: str) -> None:
    if switch.on:
        QUEUE_PUSHES.labels(task_name).inc()


def observe_task(task_name: str, outcome: str, seconds: float) -> None:
    if switch.on:
        TASK_RUNS.labels(task_name, outcome).inc()
        TASK_SECONDS.labels(task_name).observe(seconds)


def watch_pool(engine: AsyncEngine) -> None:
    """Keep the pool gauges current from the pool's own check-out and check-in events."""
    if not switch.on:
        return
    pool = engine.sync_engine.pool
    overflow: Callable[[], int] | None = getattr(pool, "overflow", None)

    def update_overflow() -> None:
        if overflow is not None:
            DB_OVERFLOW.set(max(0, overflow()))

    def checked_out(*_args: Any) -> None:
        DB_CHECKED_OUT.inc()
        update_overflow()

    def checked_in(*_args: Any) -> None:
        DB_CHECKED_OUT.dec()
        update_overflow()

    event.listen(pool, "checkout", checked_out)
    event.listen(pool, "checkin", checked_in)


# Reads the outbox's state for a scrape (set by the queue layer, which owns the outbox).
OutboxReader = Callable[[], Any]
_outbox_reader: list[OutboxReader] = []


def read_outbox_with(reader: OutboxReader) -> None:
    _outbox_reader[:] = [reader]


async def _update_outbox() -> None:
    for reader in _outbox_reader:
        try:
            async with asyncio.timeout(2.0):
                state = await reader()
        except Exception:  # a scrape reports what it can
            return
        OUTBOX_DEPTH.set(state.depth)
        OUTBOX_OLDEST.set(state.oldest_seconds)


def exposition() -> bytes:
    return generate_latest(_registry())


async def metrics_endpoint(_request: Request) -> Response:
    """``GET /metrics``: every process's metrics in Prometheus' text format."""
    await _update_outbox()
    body = await asyncio.to_thread(exposition)  # reads the processes' files
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def start_worker_endpoint(config: AppConfig) -> bool:
    """Serve the metrics of this host's queue workers on ``METRICS_WORKER_PORT``; False when
    another worker process serves them already (the port is taken)."""
    try:
        start_http_server(
            config.METRICS_WORKER_PORT, addr=config.METRICS_WORKER_HOST, registry=_registry()
        )
    except OSError:
        return False
    return True


__all__ = [
    "configure_metrics",
    "count_cache_lookup",
    "count_push",
    "count_rate_limited",
    "metrics_endpoint",
    "observe_request",
    "observe_task",
    "start_worker_endpoint",
    "switch",
    "watch_pool",
]

"""Prometheus metrics: what ``/metrics`` reports, read back with ``prometheus_client.parser``,
in-process and from real ``serve --workers 2`` and ``worker`` processes."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from app.core.configs import app_config
from app.core.services import metrics
from app.core.services.queue import create_broker
from app.main import create_app
from tests.core import routes
from tests.mail import Mailbox, SMTPServer, free_port
from tests.processes import api_server, embedded_env, worker_process
from tests.queue import drain_queue, push_mail


def samples(text: str, name: str) -> list[Sample]:
    return [
        sample
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


def value(text: str, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples carrying ``labels`` (0 when none)."""
    return sum(
        sample.value
        for sample in samples(text, name)
        if all(sample.labels.get(key) == wanted for key, wanted in labels.items())
    )


@pytest.fixture
async def scraped(db: object, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app with metrics on, over the test's database transaction."""
    monkeypatch.setattr(metrics.switch, "on", False)  # restored after the test
    application = create_app(app_config.model_copy(update={"METRICS_ENABLED": True}))
    application.include_router(routes.router)
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def test_requests_are_counted_by_route_template_and_status_class(
    scraped: httpx.AsyncClient,
) -> None:
    before = (await scraped.get("/metrics")).text
    for item in (1, 2, 3):
        assert (await scraped.get(f"/test/limited/{item}")).status_code == 200
    assert (await scraped.get("/no/such/path")).status_code == 404
    assert (await scraped.request("BREW", "/health")).status_code == 405
    after = (await scraped.get("/metrics")).text

    route = "/test/limited/{item_id}"
    grown = value(after, "http_requests_total", route=route, status="2xx") - value(
        before, "http_requests_total", route=route, status="2xx"
    )
    assert grown == 3
    assert value(after, "http_request_duration_seconds_count", method="GET", route=route) >= 3
    assert value(after, "http_requests_total", route="<unmatched>", status="4xx") >= 1
    assert value(after, "http_requests_total", method="other", route="/health") >= 1
    routes = {sample.labels["route"] for sample in samples(after, "http_requests_total")}
    assert not any(path.startswith(("/test/limited/1", "/no/such")) for path in routes)
    assert samples(after, "http_requests_in_flight")


async def test_metrics_route_is_absent_from_openapi_and_off_by_default(
    scraped: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    answer = await scraped.get("/metrics")
    schema = (await scraped.get("/openapi.json")).json()

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert "/metrics" not in schema["paths"]
    assert (await client.get("/metrics")).status_code == 404  # the default app


async def test_rejections_cache_lookups_pushes_and_task_runs_are_counted(
    scraped: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_config, "RATE_LIMITER_ENABLED", True)
    routes.limit_two_per_minute.reset()
    before = (await scraped.get("/metrics")).text
    codes = [(await scraped.get("/test/limited/7")).status_code for _ in range(3)]
    for _ in range(2):
        await scraped.get("/test/cached/7")
    assert (await scraped.post("/test/queue/8")).status_code == 201
    await drain_queue()
    after = (await scraped.get("/metrics")).text

    def grown(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert codes == [200, 200, 429]
    assert grown("rate_limit_rejections_total", route="/test/limited/{item_id}") == 1
    assert grown("cache_lookups_total", result="miss") >= 1
    assert grown("cache_lookups_total", result="hit") >= 1
    assert grown("queue_pushes_total", task="tests.routes.record_number") == 1
    assert grown("task_runs_total", task="tests.routes.record_number", outcome="done") == 1
    assert grown("task_duration_seconds_count", task="tests.routes.record_number") == 1
    assert samples(after, "outbox_depth")


@pytest.fixture
def shared_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_1.db").write_bytes(b"left by an earlier run")
    return directory


@pytest.mark.slow
def test_serve_with_two_workers_reports_every_process(tmp_path: Path, shared_dir: Path) -> None:
    env = embedded_env(
        tmp_path / "metrics.db",
        METRICS_ENABLED="true",
        PROMETHEUS_MULTIPROC_DIR=str(shared_dir),
    )
    # No keep-alive, several at once: connections spread over both processes.
    fresh = httpx.Limits(max_keepalive_connections=0)
    with (
        api_server(env, workers=2) as base,
        httpx.Client(base_url=base, limits=fresh) as http,
        ThreadPoolExecutor(8) as pool,
    ):
        health = value(http.get("/metrics").text, "http_requests_total", route="/health")
        sent = 0
        # Until both processes took some (the kernel may hand a burst to one of them).
        while len(list(shared_dir.glob("counter_*.db"))) < 2 and sent < 2000:
            codes = list(pool.map(lambda _: http.get("/health").status_code, range(40)))
            assert codes == [200] * 40
            sent += 40
        assert http.get("/health/ready").status_code == 200
        scrapes = [http.get("/metrics").text for _ in range(6)]
        files = sorted(path.name for path in shared_dir.glob("counter_*.db"))

    assert "counter_1.db" not in files  # the directory was emptied at start
    assert len(files) == 2, files  # both processes answered requests
    for text in scrapes:  # whichever process answers reports the sum of both
        assert value(text, "http_requests_total", route="/health", status="2xx") == health + sent
        assert samples(text, "db_pool_checked_out")
        assert samples(text, "db_pool_overflow")


@pytest.mark.slow
@pytest.mark.skipif(not app_config.REDIS_URL, reason="queue workers need Redis")
async def test_queue_workers_serve_their_metrics_on_their_own_port(
    smtp_server: SMTPServer, mailbox: Mailbox
) -> None:
    queue_name = f"test-metrics-{uuid.uuid4().hex[:8]}"
    port = free_port()
    env = {
        **embedded_env(Path("unused.db")),
        "DATABASE_URL": app_config.DATABASE_URL,
        "REDIS_URL": app_config.REDIS_URL,
        "QUEUE_NAME": queue_name,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_server.port),
        "METRICS_ENABLED": "true",
        "METRICS_WORKER_PORT": str(port),
    }
    pusher = create_broker(app_config.model_copy(update={"QUEUE_NAME": queue_name}))
    await pusher.startup()
    try:
        with worker_process(env, workers=2):
            await push_mail(pusher, "Counted")
            await mailbox.wait_for(1, timeout=30)
            async with httpx.AsyncClient() as http:
                text = await scrape_when_counted(http, f"http://127.0.0.1:{port}/metrics")
    finally:
        await pusher.shutdown()

    assert value(text, "task_runs_total", task="core.mail.send", outcome="done") == 1
    assert value(text, "task_duration_seconds_count", task="core.mail.send") == 1


async def scrape_when_counted(http: httpx.AsyncClient, url: str) -> str:
    """The workers' metrics once the task run is recorded (it is, just after the mail)."""
    text = ""
    for _ in range(50):
        try:
            text = (await http.get(url, timeout=2)).text
        except httpx.HTTPError:
            text = ""
        if value(text, "task_runs_total", task="core.mail.send"):
            return text
        await asyncio.sleep(0.1)
    return text

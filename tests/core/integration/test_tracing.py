"""OpenTelemetry end to end: a real API process and a real queue worker export their spans
over OTLP/HTTP to a receiver in this test, which decodes them with ``opentelemetry-proto``.
One registration gives one trace: the request, the tasks it queued (through the outbox and
Redis) and the SMTP send, with the trace ids in the API's log lines."""

import asyncio
import gzip
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from app.core.configs import app_config
from tests.mail import Mailbox, SMTPServer
from tests.processes import api_server, embedded_env, worker_process

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not app_config.REDIS_URL, reason="queue workers need Redis"),
]
PASSWORD = "Quiet-Harbour-Lantern-4817"
SERVER, CONSUMER, CLIENT = 2, 5, 3  # the protocol's span kinds


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_span_id: str


class OTLPReceiver:
    """Answers ``POST /v1/traces`` like a collector and keeps every span it decodes."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.paths: set[str] = set()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                receiver.add(self.path, ExportTraceServiceRequest.FromString(body))
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def add(self, path: str, request: ExportTraceServiceRequest) -> None:
        with self._lock:
            self.paths.add(path)
            for resource_spans in request.resource_spans:
                attributes = {
                    a.key: a.value.string_value for a in resource_spans.resource.attributes
                }
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        self.spans.append(
                            ReceivedSpan(
                                service=attributes.get("service.name", ""),
                                name=span.name,
                                kind=span.kind,
                                trace_id=span.trace_id.hex(),
                                span_id=span.span_id.hex(),
                                parent_span_id=span.parent_span_id.hex(),
                            )
                        )

    async def wait_for(self, found: "Predicate", timeout: float = 30.0) -> list[ReceivedSpan]:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                spans = list(self.spans)
            if found(spans) or time.monotonic() > deadline:
                return spans
            await asyncio.sleep(0.1)

    @contextmanager
    def running(self) -> Iterator["OTLPReceiver"]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()


class Predicate:
    """Whether the spans received so far hold one registration's whole trace."""

    def __init__(self, mails: int) -> None:
        self.mails = mails
        self.request: ReceivedSpan | None = None

    def __call__(self, spans: list[ReceivedSpan]) -> bool:
        self.request = next(
            (s for s in spans if s.name == "POST /api/v1/auth/register" and s.kind == SERVER),
            None,
        )
        if self.request is None:
            return False
        trace = [s for s in spans if s.trace_id == self.request.trace_id]
        sends = sum(s.name == "smtp send" for s in trace)
        return sends >= self.mails and any(s.name.startswith("task ") for s in trace)


@pytest.fixture
def receiver() -> Iterator[OTLPReceiver]:
    with OTLPReceiver().running() as running:
        yield running


async def test_one_registration_is_one_trace_across_api_queue_and_worker(
    tmp_path: Path, receiver: OTLPReceiver, smtp_server: SMTPServer, mailbox: Mailbox
) -> None:
    env = embedded_env(
        tmp_path / "traced.db",
        REDIS_URL=app_config.REDIS_URL,
        QUEUE_NAME=f"test-traced-{uuid.uuid4().hex[:8]}",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_server.port),
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
        OTEL_BSP_SCHEDULE_DELAY="100",
        LOG_JSON="true",
    )
    log_path = tmp_path / "api.log"
    with (
        log_path.open("wb") as log,
        api_server({**env, "OTEL_SERVICE_NAME": "kit-api"}, log=log) as base,
        worker_process({**env, "OTEL_SERVICE_NAME": "kit-worker"}),
    ):
        user = {"email": "traced@example.com", "username": "traced", "password": PASSWORD}
        async with httpx.AsyncClient(base_url=base) as http:
            assert (await http.post("/api/v1/auth/register", json=user)).status_code == 201
        mails = await mailbox.wait_for(2, timeout=30)  # the welcome mail and the link
        [welcome] = [mail for mail in mails if "Welcome" in mail["Subject"]]
        whole_trace = Predicate(mails=len(mails))
        spans = await receiver.wait_for(whole_trace)

    assert welcome["To"] == "traced@example.com"
    assert receiver.paths == {"/v1/traces"}
    request = whole_trace.request
    assert request is not None, [s.name for s in spans]
    trace = [s for s in spans if s.trace_id == request.trace_id]
    tasks = [s for s in trace if s.name.startswith("task ")]
    assert request.service == "kit-api"
    assert {s.service for s in tasks} == {"kit-worker"}
    assert {s.kind for s in tasks} == {CONSUMER}
    ids = {s.span_id for s in trace}
    assert all(s.parent_span_id in ids for s in tasks)  # children, not new roots
    smtp = [s for s in trace if s.name == "smtp send"]
    assert len(smtp) == len(mails)
    assert {(s.kind, s.service) for s in smtp} == {(CLIENT, "kit-worker")}
    sql = [s.name.split()[0] for s in trace if s.service == "kit-api"]
    assert "INSERT" in sql

    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    [access] = [
        line
        for line in lines
        if line.get("event") == "request" and line.get("route") == "/api/v1/auth/register"
    ]
    assert access["trace_id"] == request.trace_id
    assert len(access["span_id"]) == 16
    assert access["request_id"]

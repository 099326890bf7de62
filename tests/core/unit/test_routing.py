"""The access log: one line per request, written by the request middleware."""

import io
import json
import re

import httpx
import pytest
import structlog

from app.core.configs.structlog import REDACTED, AccessLog, access_log


@pytest.fixture
def access_lines(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The access log's lines, rendered as JSON, written during the test."""
    lines: list[str] = []
    monkeypatch.setattr(access_log, "render", json.dumps)
    monkeypatch.setattr(access_log, "write_line", lines.append)
    return lines


async def test_access_log_names_the_full_route_template(
    client: httpx.AsyncClient, access_lines: list[str]
) -> None:
    await client.get("/api/v1/users/12")
    await client.get("/health/ready")
    await client.get("/nowhere")

    assert all(line.endswith("\n") for line in access_lines)
    routes = [json.loads(line)["route"] for line in access_lines]
    assert routes == ["/api/v1/users/{user_id}", "/health/ready", None]


async def test_access_log_line_has_status_duration_request_id_and_time(
    client: httpx.AsyncClient, access_lines: list[str]
) -> None:
    await client.get("/health", headers={"X-Request-ID": "abc"})
    await client.get("/health")

    given, generated = (json.loads(line) for line in access_lines)
    assert (given["method"], given["status"], given["path"]) == ("GET", 200, "/health")
    assert given["duration_ms"] >= 0
    assert (given["event"], given["logger"], given["level"]) == ("request", "app.access", "info")
    assert given["request_id"] == "abc"
    assert re.fullmatch(r"[0-9a-f]{32}", generated["request_id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", given["timestamp"])


def test_bound_context_is_carried_and_redacted_like_other_lines() -> None:
    stream = io.StringIO()
    log = AccessLog()
    log.configure(enabled=True, render=json.dumps, stream=stream, trace_ids=None)
    with structlog.contextvars.bound_contextvars(request_id="r-1", api_token="t", tenant=7):
        log.write("POST", "/things", "/things/" + "x" * 10_000, 201, 0.0123)

    line = json.loads(stream.getvalue())
    assert (line["request_id"], line["tenant"], line["api_token"]) == ("r-1", 7, REDACTED)
    assert (line["status"], line["duration_ms"]) == (201, 12.3)
    assert len(line["path"]) < 5_000
    assert "characters cut" in line["path"]


def test_below_info_level_nothing_is_written() -> None:
    stream = io.StringIO()
    log = AccessLog()
    log.configure(enabled=False, render=json.dumps, stream=stream, trace_ids=None)
    log.write("GET", "/health", "/health", 200, 0.001)

    assert stream.getvalue() == ""

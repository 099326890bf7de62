import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from app.core.configs import AppConfig, app_config
from app.core.configs.structlog import REDACTED, configure_logging
from app.core.services.log import StructlogLogService


@pytest.fixture
def json_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    """JSON logging, set up when the test body first logs (capsys swaps streams per phase)."""
    yield capsys
    with capsys.disabled():  # point the handlers back at the real stderr, not capsys' stream
        configure_logging(app_config)


def start_json_logging() -> None:
    configure_logging(AppConfig(_env_file=None, LOG_JSON=True, LOG_LEVEL="DEBUG"))


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    err = capsys.readouterr().err
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


async def test_sync_and_async_methods_write_json_lines(
    json_logs: pytest.CaptureFixture[str],
) -> None:
    start_json_logging()
    log = StructlogLogService("test")

    log.info("sync event", answer=42)
    await log.a_warning("async event")

    records = lines(json_logs)
    assert [(r["event"], r["level"]) for r in records] == [
        ("sync event", "info"),
        ("async event", "warning"),
    ]
    assert records[0]["answer"] == 42
    assert "timestamp" in records[0]


def test_secrets_are_redacted_at_any_depth(json_logs: pytest.CaptureFixture[str]) -> None:
    start_json_logging()
    StructlogLogService("test").info(
        "login",
        password="hunter2",
        body={"refresh_token": "abc", "user": {"api_key": "k"}},
        user="bob",
    )

    record = lines(json_logs)[0]
    assert record["password"] == REDACTED
    assert record["body"] == {"refresh_token": REDACTED, "user": {"api_key": REDACTED}}
    assert record["user"] == "bob"
    assert "hunter2" not in json.dumps(record)


def test_bound_request_id_appears_on_every_line(json_logs: pytest.CaptureFixture[str]) -> None:
    start_json_logging()
    structlog.contextvars.bind_contextvars(request_id="req-1")
    try:
        StructlogLogService("test").info("one")
        logging.getLogger("third.party").warning("two")
    finally:
        structlog.contextvars.clear_contextvars()

    assert [r["request_id"] for r in lines(json_logs)] == ["req-1", "req-1"]


def test_exceptions_are_logged_with_their_traceback(json_logs: pytest.CaptureFixture[str]) -> None:
    start_json_logging()
    log = StructlogLogService("test")
    try:
        raise ValueError("broken")
    except ValueError:
        log.exception("failed")

    record = lines(json_logs)[0]
    assert record["level"] == "error"
    assert "broken" in json.dumps(record["exception"])

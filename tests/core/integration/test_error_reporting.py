"""Sentry reporting with the real SDK: an app in a process of its own (the SDK patches
libraries process-wide) reports an unhandled error to an HTTP endpoint here standing in for the
DSN's host; the event arrives once, tagged, and without the request's secrets."""

import gzip
import json
import os
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from app.core.configs import app_config
from app.core.configs.structlog import REDACTED
from app.core.services.error_reporting import scrub_event

ROOT = Path(__file__).resolve().parents[3]
SECRETS = [
    "query-secret-value",
    "header-secret-value",
    "cookie-secret-value",
    "body-secret-value",
    "local-secret-value",
]

SCRIPT = """
import asyncio
import sys

import httpx
import sentry_sdk

from app.core.configs import app_config
from app.main import create_app

app = create_app(
    app_config.model_copy(update={"SENTRY_DSN": sys.argv[1], "SENTRY_RELEASE": "kit@9.9.9"})
)


@app.post("/explode")
async def explode(payload: dict[str, str], api_key: str = "") -> None:
    password = "local-secret" + "-value"  # whole only at run time, not in the source shown
    raise RuntimeError("exploded while handling " + str(len(password)))


async def main() -> None:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        answer = await http.post(
            "/explode",
            params={"api_key": "query-secret-value", "page": "2"},
            json={"password": "body-secret-value", "note": "kept"},
            headers={
                "Authorization": "Bearer header-secret-value",
                "Cookie": "session=cookie-secret-value",
            },
        )
        print(answer.status_code, answer.json()["detail"])


asyncio.run(main())
sentry_sdk.flush(timeout=10)
"""


class SentryStandIn:
    """Accepts envelopes like Sentry's ingest endpoint and keeps them, decoded."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                stand_in.requests.append((self.path, dict(self.headers), body))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.dsn = f"http://publickey@127.0.0.1:{self.server.server_address[1]}/42"

    def events(self) -> list[dict[str, Any]]:
        found = []
        for _path, _headers, body in self.requests:
            lines = body.split(b"\n")
            for header, payload in zip(lines[1::2], lines[2::2], strict=False):
                if json.loads(header).get("type") == "event":
                    found.append(json.loads(payload))
        return found


@pytest.fixture
def sentry() -> Iterator[SentryStandIn]:
    stand_in = SentryStandIn()
    thread = threading.Thread(target=stand_in.server.serve_forever, daemon=True)
    thread.start()
    yield stand_in
    stand_in.server.shutdown()
    stand_in.server.server_close()


def test_an_unhandled_error_is_reported_once_tagged_and_scrubbed(
    sentry: SentryStandIn, tmp_path: Path
) -> None:
    script = tmp_path / "explode.py"
    script.write_text(SCRIPT)
    run = subprocess.run(  # noqa: S603
        [sys.executable, str(script), sentry.dsn],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip() == "500 Internal server error"
    [event] = sentry.events()
    [path] = {path for path, _headers, _body in sentry.requests}
    assert path == "/api/42/envelope/"
    assert all(
        "sentry_key=publickey" in headers["X-Sentry-Auth"] for _, headers, _ in sentry.requests
    )
    [error] = event["exception"]["values"]
    assert error["type"] == "RuntimeError"
    assert event["environment"] == str(app_config.APP_ENV)
    assert event["release"] == "kit@9.9.9"
    assert "page=2" in event["request"]["query_string"]
    assert all("vars" not in frame for frame in error["stacktrace"]["frames"])
    raw = b"".join(body for _path, _headers, body in sentry.requests).decode()
    assert [secret for secret in SECRETS if secret in raw] == []


def test_events_lose_what_log_lines_lose() -> None:
    event = {
        "extra": {"smtp_password": "a", "settings": {"SECRET_KEY": "b", "PORT": 587}},
        "request": {"query_string": "reset_token=c&page=2", "headers": {"X-Api-Key": "d"}},
        "breadcrumbs": {"values": [{"data": {"refresh_token": "e", "id": 7}}]},
    }

    scrubbed = scrub_event(event, {})

    assert scrubbed["extra"] == {
        "smtp_password": REDACTED,
        "settings": {"SECRET_KEY": REDACTED, "PORT": 587},
    }
    assert scrubbed["request"]["query_string"] == "reset_token=%5Bredacted%5D&page=2"
    assert scrubbed["request"]["headers"] == {"X-Api-Key": REDACTED}
    assert scrubbed["breadcrumbs"]["values"][0]["data"] == {"refresh_token": REDACTED, "id": 7}

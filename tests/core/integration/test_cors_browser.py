"""CORS in a real browser: headless Chromium loads a page from another origin on 127.0.0.1 that
calls the API with ``fetch`` and a bearer token. It succeeds from a listed origin and is blocked
from any other, as the browser itself decides."""

import functools
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.processes import api_server, embedded_env

CHROMIUM = next(
    filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None
)
PASSWORD = "Quiet-Harbour-Lantern-4817"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium package"),
]

PAGE = """<!doctype html>
<html><body><p id="result">pending</p>
<script>
fetch("{api}/api/v1/profile", {{headers: {{"Authorization": "Bearer {token}"}}}})
  .then(response => response.json().then(body =>
    document.getElementById("result").textContent = "answered " + response.status + " "
      + body.username))
  .catch(error => document.getElementById("result").textContent = "blocked " + error.name);
</script></body></html>
"""


@contextmanager
def page_server(directory: Path) -> Iterator[str]:
    """Static files from ``directory`` on another port: another origin."""
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def rendered(url: str, profile: Path) -> str:
    """The page's DOM once its script ran, as headless Chromium saw it."""
    assert CHROMIUM is not None
    result = subprocess.run(  # noqa: S603
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout


def test_a_listed_origin_calls_the_api_and_another_is_blocked(tmp_path: Path) -> None:
    (tmp_path / "pages").mkdir()
    with (
        page_server(tmp_path / "pages") as listed,
        page_server(tmp_path / "pages") as unlisted,
        api_server(embedded_env(tmp_path / "browser.db", CORS_ORIGINS=listed)) as api,
    ):
        user = {"email": "browser@example.com", "username": "browser", "password": PASSWORD}
        assert httpx.post(f"{api}/api/v1/auth/register", json=user).status_code == 201
        login = httpx.post(
            f"{api}/api/v1/auth/login", data={"username": "browser", "password": PASSWORD}
        )
        token = login.json()["access_token"]
        (tmp_path / "pages" / "call.html").write_text(PAGE.format(api=api, token=token))

        allowed = rendered(f"{listed}/call.html", tmp_path / "profile-a")
        blocked = rendered(f"{unlisted}/call.html", tmp_path / "profile-b")

    assert '<p id="result">answered 200 browser</p>' in allowed
    assert '<p id="result">blocked TypeError</p>' in blocked

"""An unhandled error in the middle of a login logs no password and no bearer token, in the
console and the JSON format, and its log lines stay small."""

import io
import json
import sys
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from app.auth.services.auth import AuthService
from app.core.configs import app_config
from app.core.configs.structlog import MAX_VALUE_CHARS, configure_logging
from tests.auth.factories.user import DEFAULT_PASSWORD, UserFactory
from tests.utils import login_user


@pytest.fixture(params=[False, True], ids=["console", "json"])
def log_output(request: pytest.FixtureRequest) -> Iterator[tuple[io.StringIO, bool]]:
    buffer = io.StringIO()
    real_stderr = sys.stderr
    sys.stderr = buffer  # the loggers bind the stream they write to when configured
    try:
        configure_logging(app_config.model_copy(update={"LOG_JSON": request.param}))
    finally:
        sys.stderr = real_stderr
    yield buffer, request.param
    configure_logging(app_config)


async def test_a_crash_during_login_logs_neither_password_nor_token(
    app: FastAPI,
    client: httpx.AsyncClient,
    log_output: tuple[io.StringIO, bool],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    buffer, as_json = log_output
    other = await UserFactory.create()
    bearer = (await login_user(client, other.email)).access_token
    victim = await UserFactory.create()

    async def crash(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("storage failed")

    monkeypatch.setattr(AuthService, "_start_session", crash)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.post(
            "/api/v1/auth/login",
            data={"username": victim.email, "password": DEFAULT_PASSWORD},
            headers={"Authorization": f"Bearer {bearer}"},
        )

    assert response.status_code == 500
    logged = buffer.getvalue()
    assert "unhandled error" in logged
    assert "storage failed" in logged  # the traceback is there...
    assert DEFAULT_PASSWORD not in logged  # ...but not what the frames held
    assert bearer not in logged
    assert bearer.split(".")[2] not in logged
    for line in logged.splitlines():
        assert len(line) < MAX_VALUE_CHARS * 2, line[:200]
    if as_json:
        events = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
        assert any(event.get("event") == "unhandled error" for event in events)

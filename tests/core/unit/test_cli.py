import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.core.configs import AppEnv, app_config

runner = CliRunner()


def test_routes_lists_every_api_operation() -> None:
    result = runner.invoke(cli, ["routes"])

    assert result.exit_code == 0
    assert "POST    /api/v1/auth/login" in result.output
    assert "GET     /health/ready" in result.output
    # Summaries start in one column, however long the longest path.
    summaries = {
        line.index(summary)
        for line in result.output.splitlines()
        for summary in ("Liveness", "Register", "Login")
        if summary in line
    }
    assert len(summaries) == 1


def test_worker_without_redis_explains_that_none_is_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_config, "REDIS_URL", "")

    result = runner.invoke(cli, ["worker"])

    assert result.exit_code == 2
    assert "no worker is needed" in result.output


def test_scheduler_without_redis_explains_that_the_api_runs_the_schedule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(app_config, "REDIS_URL", "")

    result = runner.invoke(cli, ["scheduler"])

    assert result.exit_code == 2
    assert "the API process runs the schedule" in result.output


def test_scheduler_help_states_its_guarantees() -> None:
    result = runner.invoke(cli, ["scheduler", "--help"])

    assert result.exit_code == 0
    assert "each tick of a job is queued once" in result.output
    assert "--poll" in result.output


def test_serve_refuses_a_weak_production_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_config, "APP_ENV", AppEnv.PRODUCTION)
    monkeypatch.setattr(app_config, "SECRET_KEY", "weak")

    result = runner.invoke(cli, ["serve", "--no-migrate"])

    assert result.exit_code != 0
    assert "SECRET_KEY" in str(result.exception) + result.output

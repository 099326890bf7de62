"""The Dockerfile and docker-compose.yaml, checked without a Docker engine: hadolint, the
Compose specification's JSON schema, and the properties the stack relies on."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        list(command), cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    return loaded


def test_dockerfile_passes_hadolint() -> None:
    result = run(str(BIN / "hadolint"), "--failure-threshold", "info", "Dockerfile")

    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_is_multi_stage_non_root_and_serves_the_app() -> None:
    text = (ROOT / "Dockerfile").read_text()

    assert text.count("\nFROM ") + text.startswith("FROM ") >= 2
    assert "USER 10001" in text
    assert "HEALTHCHECK" in text
    assert '"-m", "app", "serve"' in text
    assert "--no-dev" in text


def test_compose_file_matches_the_compose_specification() -> None:
    result = run(
        str(BIN / "check-jsonschema"),
        "--builtin-schema",
        "vendor.compose-spec",
        "docker-compose.yaml",
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_catches_a_broken_compose_file(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yaml"
    broken.write_text(
        "services:\n  app:\n    image: x\n    depends_on: {db: {condition: whenever}}\n"
    )

    result = run(
        str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(broken)
    )

    assert result.returncode != 0


def test_compose_stack_has_every_service_with_health_checks(compose: dict[str, Any]) -> None:
    services = compose["services"]

    assert {"app", "worker", "db", "redis", "mailpit", "migrate"} <= set(services)
    assert services["db"]["image"].startswith("postgres:17")
    assert services["mailpit"]["image"].startswith("axllent/mailpit")
    for name in ("db", "redis", "mailpit"):
        assert "test" in services[name]["healthcheck"], name


def test_app_and_worker_start_after_migrations_and_healthy_services(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]

    for name in ("app", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert "--no-migrate" in services["app"]["command"]
    assert services["migrate"]["command"][-1] == "migrate"


def test_database_data_lives_in_a_named_volume(compose: dict[str, Any]) -> None:
    assert "db-data" in compose["volumes"]
    assert "db-data:/var/lib/postgresql/data" in compose["services"]["db"]["volumes"]


def test_compose_does_not_need_a_dotenv_file(compose: dict[str, Any]) -> None:
    env_file = compose["services"]["app"]["env_file"][0]

    assert env_file == {"path": ".env", "required": False}

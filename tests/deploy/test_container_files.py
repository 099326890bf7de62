"""The Dockerfile and the compose files, checked without a Docker engine: hadolint, the
Compose specification's JSON schema, and the properties the stacks rely on. The stacks
themselves run in scripts/compose-check.sh."""

import re
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


COMPOSE_FILES = ("docker-compose.yaml", "docker-compose.prod.yaml")
APP_SERVICES = ("migrate", "app", "worker", "scheduler")


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / name).read_text())
    return loaded


@pytest.fixture(scope="module")
def dev() -> dict[str, Any]:
    services: dict[str, Any] = load("docker-compose.yaml")["services"]
    return services


@pytest.fixture(scope="module")
def prod() -> dict[str, Any]:
    services: dict[str, Any] = load("docker-compose.prod.yaml")["services"]
    return services


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


def test_dockerfile_builds_without_a_remote_frontend_and_keeps_the_code_read_only() -> None:
    text = (ROOT / "Dockerfile").read_text()

    assert "# syntax=" not in text
    assert "--chown" not in text
    assert "FROM base AS runtime" in text
    assert "FROM base AS dev" in text
    assert "USER 10001:10001" in text
    assert "uninstall --yes --quiet setuptools pip" in text
    for arg in ("PIP_INDEX_URL", "PIP_TRUSTED_HOST", "EXTRA_CA_CERTS"):
        assert f"ARG {arg}" in text
    healthchecks = [line for line in text.splitlines() if line.strip().startswith("CMD [")]
    assert any('"healthcheck"' in line for line in healthchecks)
    assert "8000/health" not in text


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_compose_file_matches_the_compose_specification(name: str) -> None:
    result = run(str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", name)

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


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_every_service_has_a_health_check_except_the_one_shot_migration(name: str) -> None:
    services = load(name)["services"]

    assert {"app", "worker", "scheduler", "db", "redis", "migrate"} <= set(services)
    assert services["db"]["image"].startswith("postgres:17")
    for service in ("db", "redis", "worker", "scheduler"):
        assert "test" in services[service]["healthcheck"], service
    assert services["worker"]["healthcheck"]["test"][-2:] == ["healthcheck", "worker"]
    assert services["scheduler"]["healthcheck"]["test"][-2:] == ["healthcheck", "scheduler"]
    assert services["migrate"]["healthcheck"] == {"disable": True}
    assert services["migrate"]["command"][-1] == "migrate"


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_one_image_is_built_for_the_api_the_worker_and_migrations(name: str) -> None:
    services = load(name)["services"]

    images = {services[service]["image"] for service in APP_SERVICES}
    builds = [services[service]["build"] for service in APP_SERVICES]
    assert len(images) == 1
    assert all(build == builds[0] for build in builds)


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_app_and_worker_start_after_migrations_and_healthy_services(name: str) -> None:
    services = load(name)["services"]

    for service in ("app", "worker", "scheduler"):
        depends = services[service]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert "--no-migrate" in services["app"]["command"]


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_addresses_are_defaults_that_dotenv_overrides(name: str) -> None:
    environment = load(name)["services"]["app"]["environment"]

    for key in ("DATABASE_URL", "REDIS_URL", "SMTP_HOST"):
        assert environment[key].startswith(f"${{{key}:"), key


def test_development_stack_mounts_the_source_and_reloads(dev: dict[str, Any]) -> None:
    assert dev["app"]["build"]["target"] == "dev"
    for service in APP_SERVICES:
        assert ".:/app" in dev[service]["volumes"]
        assert "APP_ENV" not in dev[service]["environment"]  # .env's, local by default
    assert "--reload" in dev["app"]["command"]
    assert dev["worker"]["command"][0] == "watchfiles"


def test_tests_in_the_development_stack_use_a_database_of_their_own(
    dev: dict[str, Any],
) -> None:
    environment = dev["app"]["environment"]
    app_database = environment["DATABASE_URL"].rsplit("/", 1)[-1].rstrip("}")
    test_database = environment["TEST_DATABASE_URL"].rsplit("/", 1)[-1].rstrip("}")
    app_redis = environment["REDIS_URL"].rsplit("/", 1)[-1].rstrip("}")
    test_redis = environment["TEST_REDIS_URL"].rsplit("/", 1)[-1].rstrip("}")

    assert test_database != app_database
    assert test_redis != app_redis
    assert "./docker/postgres:/docker-entrypoint-initdb.d:ro" in dev["db"]["volumes"]
    init = (ROOT / "docker/postgres/create-test-database.sql").read_text()
    assert f"CREATE DATABASE {test_database};" in init


def test_production_stack_runs_the_runtime_image_with_several_processes(
    prod: dict[str, Any],
) -> None:
    assert prod["app"]["build"]["target"] == "runtime"
    for service in APP_SERVICES:
        assert "volumes" not in prod[service]
        assert prod[service]["environment"]["APP_ENV"] == "production"
        assert prod[service]["read_only"] is True
    assert "--workers" in prod["app"]["command"]
    assert "--workers" in prod["worker"]["command"]


def test_database_data_lives_in_a_named_volume() -> None:
    for name in COMPOSE_FILES:
        compose = load(name)
        assert "db-data" in compose["volumes"]
        assert "db-data:/var/lib/postgresql/data" in compose["services"]["db"]["volumes"]


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_compose_does_not_need_a_dotenv_file(name: str) -> None:
    for service in load(name)["services"].values():
        for env_file in service.get("env_file", []):
            assert env_file["required"] is False


def test_production_is_a_compose_project_of_its_own() -> None:
    assert load("docker-compose.prod.yaml")["name"] != load("docker-compose.yaml").get("name")
    assert load("docker-compose.prod.yaml")["name"]


def test_make_checks_the_image_venv_against_the_lock_not_timestamps() -> None:
    assert "sha256sum poetry.lock > /opt/venv/.lock-sha256" in (ROOT / "Dockerfile").read_text()
    assert "sha256sum --check --status $(VENV)/.lock-sha256" in (ROOT / "Makefile").read_text()


@pytest.mark.parametrize("workflow_file", ["ci.yml", "mutation.yml"])
def test_workflow_actions_are_pinned_by_commit_with_their_version_named(
    workflow_file: str,
) -> None:
    workflow = (ROOT / ".github" / "workflows" / workflow_file).read_text()
    uses = re.findall(r"uses:\s*(\S+)(.*)", workflow)

    assert uses
    for action, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), action
        assert re.fullmatch(r"\s*# v\d+(\.\d+)*", comment), f"{action}: name its version"


def test_dependabot_watches_packages_images_and_actions() -> None:
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())

    watched = {(update["package-ecosystem"], update["directory"]) for update in config["updates"]}
    assert watched == {
        ("pip", "/"),
        ("docker", "/"),
        ("docker-compose", "/"),
        ("github-actions", "/"),
        ("npm", "/clients/typescript"),
        ("pip", "/clients/python"),
    }

"""The env files the project ships load as they are, in every mode, for every module's config."""

import importlib
from pathlib import Path

import pytest

from app.core.configs import AppEnv, BaseConfig

ROOT = Path(__file__).resolve().parents[3]


def config_classes() -> list[type[BaseConfig]]:
    """``AppConfig`` and every module's ``config.py`` settings class."""
    for path in sorted((ROOT / "app").glob("*/config.py")):
        importlib.import_module(f"app.{path.parent.name}.config")
    found: list[type[BaseConfig]] = []
    pending = list(BaseConfig.__subclasses__())
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def read_keys(path: Path) -> dict[str, str]:
    keys = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            keys[key.strip()] = value
    return keys


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing from the test run's own environment may hide a problem in the file."""
    for cls in config_classes():
        for key in cls.model_fields:
            monkeypatch.delenv(key, raising=False)


def test_every_module_config_is_found() -> None:
    names = {cls.__name__ for cls in config_classes()}

    assert {"AppConfig", "AuthConfig"} <= names


@pytest.mark.usefixtures("clean_environment")
@pytest.mark.parametrize("env_file", [".sample.env", ".test.env"])
@pytest.mark.parametrize("mode", list(AppEnv))
def test_env_file_loads_as_shipped(
    env_file: str, mode: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_ENV", mode.value)

    for cls in config_classes():
        config = cls(_env_file=ROOT / env_file)
        assert config is not None


@pytest.mark.usefixtures("clean_environment")
def test_sample_env_gives_the_documented_defaults() -> None:
    for cls in config_classes():
        from_file = cls(_env_file=ROOT / ".sample.env")
        defaults = cls(_env_file=None)
        assert from_file.model_dump() == defaults.model_dump(), cls.__name__


@pytest.mark.usefixtures("clean_environment")
def test_empty_values_mean_the_default(tmp_path: Path) -> None:
    from app.core.configs import AppConfig

    env_file = tmp_path / ".env"
    env_file.write_text("LOG_JSON=\nSMTP_PORT=\nDATABASE_POOL_SIZE=\nTRUSTED_PROXIES=\n")

    config = AppConfig(_env_file=env_file)

    assert config.LOG_JSON is None
    assert config.SMTP_PORT == 587
    assert config.DATABASE_POOL_SIZE == 10
    assert config.TRUSTED_PROXIES == []


def test_sample_env_lists_every_key_of_every_module() -> None:
    documented = set(read_keys(ROOT / ".sample.env"))

    for cls in config_classes():
        assert set(cls.model_fields) <= documented, cls.__name__

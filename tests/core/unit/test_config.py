from typing import Any

import pytest

from app.core.configs import AppConfig, AppEnv, ConfigurationError
from app.core.configs.app import DEV_SECRET_KEY


def make(**values: Any) -> AppConfig:
    return AppConfig(_env_file=None, **values)


def test_defaults_match_the_documented_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in (
        "APP_ENV",
        "DATABASE_URL",
        "REDIS_URL",
        "SMTP_HOST",
        "RATE_LIMITER_ENABLED",
        "SECRET_KEY",
        "APP_URL",
        "TRUSTED_PROXIES",
    ):
        monkeypatch.delenv(key, raising=False)

    config = make()

    assert config.APP_ENV is AppEnv.LOCAL
    assert config.DATABASE_URL == "sqlite+aiosqlite:///./var/app.db"
    assert config.REDIS_URL == ""
    assert config.SMTP_HOST == ""
    assert config.RATE_LIMITER_ENABLED is True
    assert (config.ACCESS_TOKEN_EXPIRE_MINUTES, config.REFRESH_TOKEN_EXPIRE_DAYS) == (15, 30)
    assert config.RESET_TOKEN_EXPIRE_MINUTES == 60
    assert config.APP_URL == "http://127.0.0.1:8000"
    assert config.TRUSTED_PROXIES == []
    assert config.SECRET_KEY == DEV_SECRET_KEY
    assert config.uses_dev_secret_key


def test_trusted_proxies_parse_from_a_comma_separated_env_var(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1")

    config = make()

    assert [str(network) for network in config.TRUSTED_PROXIES] == ["10.0.0.0/8", "127.0.0.1/32"]


def test_invalid_trusted_proxy_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTED_PROXIES", "not-an-address")

    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        make()


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        ("", "is not set"),
        ("short-key", "shorter than 32"),
        ("change-me", "placeholder"),
        ("k" * 64, "different characters"),
        ("ab" * 32, "different characters"),
        (DEV_SECRET_KEY, "placeholder"),
    ],
)
def test_production_refuses_weak_secret_keys(secret: str, reason: str) -> None:
    config = make(APP_ENV="production", SECRET_KEY=secret)

    with pytest.raises(ConfigurationError) as error:
        config.check_startup()

    message = str(error.value)
    assert reason in message
    assert "\n" not in message


def test_production_accepts_a_strong_secret_key() -> None:
    make(APP_ENV="production", SECRET_KEY="k" * 16 + "Zq8#x!Lr2@pV9$mW").check_startup()


def test_outside_production_any_key_is_accepted() -> None:
    make(APP_ENV="local", SECRET_KEY="short").check_startup()


def test_unknown_app_env_is_rejected() -> None:
    with pytest.raises(ValueError, match="APP_ENV"):
        make(APP_ENV="staging")


def test_create_app_refuses_to_start_in_production_with_a_weak_key() -> None:
    from app.main import create_app

    with pytest.raises(SystemExit, match="SECRET_KEY"):
        create_app(make(APP_ENV="production", SECRET_KEY="weak"))

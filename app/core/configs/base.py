"""The settings base class every module's ``config.py`` inherits."""

from pydantic_settings import BaseSettings, SettingsConfigDict


class BaseConfig(BaseSettings):
    """Settings read from the environment, then from ``.env``.

    Environment variables win over ``.env``; under pytest ``.test.env`` is loaded into the
    environment first, so it overrides both.
    """

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=True,
    )

"""The settings base class every module's ``config.py`` inherits."""

from typing import Any

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class BaseConfig(BaseSettings):
    """Settings read from the environment, then from ``.env``.

    Environment variables win over ``.env``. An empty value (``LOG_JSON=``) means the key's
    default, whatever its type, so every key can be listed in an env file without a value.
    """

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _empty_means_default(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value != ""}
        return data

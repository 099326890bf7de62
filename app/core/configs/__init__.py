"""Configuration: ``BaseConfig`` for modules and the shared ``app_config``."""

from app.core.configs.app import AppConfig, AppEnv, ConfigurationError
from app.core.configs.base import BaseConfig

app_config = AppConfig()

__all__ = ["AppConfig", "AppEnv", "BaseConfig", "ConfigurationError", "app_config"]

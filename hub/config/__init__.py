"""Configuration: config.toml loading, ${VAR} expansion and validation."""

from hub.config.loader import ConfigError, load_config, parse_config
from hub.config.schema import (
    HubConfig,
    LoggingConfig,
    McpConfig,
    McpServerConfig,
    ModelConfig,
    ProviderConfig,
    RetryConfig,
    SavingsConfig,
    ServerConfig,
    SessionsConfig,
)

__all__ = [
    "ConfigError",
    "HubConfig",
    "LoggingConfig",
    "McpConfig",
    "McpServerConfig",
    "ModelConfig",
    "ProviderConfig",
    "RetryConfig",
    "SavingsConfig",
    "ServerConfig",
    "SessionsConfig",
    "load_config",
    "parse_config",
]

"""Configuration: config.toml loading, ${VAR} expansion and validation."""

from hub.config.auth import audience_of
from hub.config.loader import ConfigError, load_config, parse_config, with_bind
from hub.config.mcp import pattern_problem, server_name_problem
from hub.config.schema import (
    ClusterConfig,
    DatabaseConfig,
    HubConfig,
    LimitsConfig,
    LoggingConfig,
    McpConfig,
    McpLimits,
    McpOAuthConfig,
    McpProfileConfig,
    McpServerConfig,
    ModelConfig,
    OAuthConfig,
    OAuthScopeConfig,
    ProviderConfig,
    RetryConfig,
    SavingsConfig,
    ServerConfig,
    SessionsConfig,
)

__all__ = [
    "ClusterConfig",
    "ConfigError",
    "DatabaseConfig",
    "HubConfig",
    "LimitsConfig",
    "LoggingConfig",
    "McpConfig",
    "McpLimits",
    "McpOAuthConfig",
    "McpProfileConfig",
    "McpServerConfig",
    "ModelConfig",
    "OAuthConfig",
    "OAuthScopeConfig",
    "ProviderConfig",
    "RetryConfig",
    "SavingsConfig",
    "ServerConfig",
    "SessionsConfig",
    "audience_of",
    "load_config",
    "parse_config",
    "pattern_problem",
    "server_name_problem",
    "with_bind",
]

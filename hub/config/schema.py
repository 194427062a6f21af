"""Typed, immutable view of config.toml. Defaults live here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None
    metrics_key: str | None = None  # GET /metrics only (Prometheus scrapers)
    max_body_bytes: int = 20 * 1024 * 1024
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    # SIGTERM: requests still running this many seconds later are cancelled (and recorded).
    shutdown_timeout: float = 30.0
    header_timeout: float = 10.0  # request line + headers, else the connection is closed
    body_timeout: float = 60.0  # whole body, else 408


@dataclass(frozen=True)
class RetryConfig:
    attempts: int = 3
    backoff_initial: float = 0.25
    backoff_max: float = 4.0
    connect_timeout: float = 10.0
    read_timeout: float = 300.0
    total_timeout: float = 600.0  # a whole non-streaming answer, retries included


@dataclass(frozen=True)
class ProviderConfig:
    name: str
    base_url: str
    type: str = "openai"
    api_key: str | None = None
    enabled: bool = True
    headers: dict[str, str] = field(default_factory=dict)
    # The unset environment variable its api_key refers to: the provider is then
    # "clé manquante" (its models answer 401) and the rest of the hub still starts.
    missing_key: str | None = None


@dataclass(frozen=True)
class ModelConfig:
    key: str
    provider: str
    model: str
    max_context: int | None = None
    input_price: float = 0.0
    output_price: float = 0.0
    cached_input_price: float | None = None  # None: cached prompt tokens at input_price
    compaction_threshold: float | None = None
    max_output: int | None = None  # most completion tokens one answer can hold (budgets)
    # A price was configured or found built in (hub/config/prices.py); an unpriced model
    # costs 0, so a key with a budget may not use it.
    priced: bool = False


@dataclass(frozen=True)
class LimitsConfig:
    """``[limits]``: what virtual keys' budgets reserve (docs/ARCHITECTURE.md, keys)."""

    # Completion tokens reserved for a request that gives no max_tokens, when its model
    # has no max_output.
    default_max_output: int = 4096


@dataclass(frozen=True)
class SessionsConfig:
    auto_session: bool = True  # open a new session after a pause (never on a model change)
    inactivity_minutes: float = 30.0
    thresholds: tuple[float, ...] = (0.8, 0.9, 0.95)


PROMPT_LANGUAGES = ("en", "fr")  # of the text the hub writes into a model's prompt


@dataclass(frozen=True)
class SavingsConfig:
    masking: bool = True
    compaction: bool = True
    compaction_threshold: float = 0.8
    keep_recent_rounds: int = 8
    rewrite_batch_rounds: int = 10
    summarise_old_rounds: bool = True
    summarise_from_tokens: int = 8192  # below: older rounds are only masked (short chats)
    mask_min_tokens: int = 400
    summariser_model: str | None = None
    mask_retention: int = 10_000
    # one tool output at least this big is shrunk even in the recent rounds (0: never);
    # the newest round keeps it while the request fits the window
    giant_output_tokens: int = 2048
    prompt_language: str = "en"  # of the text the hub writes into the prompt: "en" or "fr"


@dataclass(frozen=True)
class LoggingConfig:
    store_bodies: bool = False  # request bodies for the inspector (off: nothing kept)
    body_retention: int = 1000  # newest requests whose bodies are kept


@dataclass(frozen=True)
class McpServerConfig:
    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    enabled: bool = True
    tools_allow: tuple[str, ...] = ()
    tools_deny: tuple[str, ...] = ()
    call_timeout: float = 60.0
    max_result_tokens: int | None = None  # larger results are masked (mask_get gives them back)
    transport: str = "streamable-http"  # with url: or "sse", the legacy HTTP+SSE transport
    isolation: str = "shared"  # or "per-client": one child per MCP client (stateful servers)
    max_clients: int = 16  # per-client: children at once
    idle_timeout: float = 600.0  # per-client: a client's child closes after this long unused
    oauth: McpOAuthConfig | None = None  # auth = "oauth": the hub signs in to this server


@dataclass(frozen=True)
class McpOAuthConfig:
    """``auth = "oauth"`` and ``[mcp.servers.NAME.oauth]``: how the hub signs in.

    ``grant = "authorization_code"`` (the default without a secret): a person signs in once
    in a browser (« Connecter » on the dashboard), the hub keeps and refreshes the tokens.
    The client is ``client_id`` if pre-registered, else the hub's Client ID Metadata
    Document (``client_metadata_url``, HTTPS) when the server supports it, else dynamic
    registration. ``"client_credentials"`` (the default with a secret): machine to machine.
    """

    client_id: str | None = None
    client_secret: str | None = None
    # the authorization server the credentials belong to (compared exactly); None: the one
    # the server names (the credentials then go wherever its metadata points)
    issuer: str | None = None
    scope: str | None = None
    token_endpoint_auth_method: str = "client_secret_basic"  # or "client_secret_post"
    grant: str = "authorization_code"
    redirect_uri: str = ""  # the hub's /oauth/callback (filled in from [server])
    client_metadata_url: str | None = None  # where the hub's CIMD is reachable (HTTPS)


@dataclass(frozen=True)
class McpProfileConfig:
    """One MCP endpoint's view of the tools: ``/mcp`` is the profile named ``default``."""

    name: str
    servers: tuple[str, ...] = ("*",)  # server name patterns (* and ?)
    tools_allow: tuple[str, ...] = ()  # tool patterns: own name, or ``server__tool``
    tools_deny: tuple[str, ...] = ()
    prefix: str = "always"  # "always": server__tool; "on_collision": only when names clash
    discovery: str = "list"  # "list": every tool; "search": pinned tools + meta-tools
    pinned: tuple[str, ...] = ()  # tool patterns still listed in search mode
    max_result_tokens: int | None = None


@dataclass(frozen=True)
class McpLimits:
    """What the hub accepts from an upstream MCP server, and what ``fs_read`` opens."""

    max_message_bytes: int = 16 * 1024 * 1024  # one stdio message (a result, a list)
    max_tools: int = 1000  # per server; the first ones are kept
    max_description_chars: int = 8192  # longer descriptions are cut
    max_schema_bytes: int = 64 * 1024  # input + output schema, as JSON; larger: tool dropped
    progress_interval: float = 0.1  # past a burst of 5, one progress notification per interval
    max_file_bytes: int = 64 * 1024 * 1024  # fs_read refuses larger files


@dataclass(frozen=True)
class McpConfig:
    workspace: Path = Path(".")
    servers: dict[str, McpServerConfig] = field(default_factory=dict)
    servers_json: Path | None = None
    profiles: dict[str, McpProfileConfig] = field(default_factory=dict)
    stdio_wait: float = 5.0  # `kimi-proxy mcp`: how long the first tools/list waits upstreams
    limits: McpLimits = McpLimits()


@dataclass(frozen=True)
class DatabaseConfig:
    """``url`` (PostgreSQL, team mode) wins over ``path`` (SQLite, the default)."""

    url: str | None = None
    pool_size: int = 10


@dataclass(frozen=True)
class ClusterConfig:
    """Team mode: replicas share live state through Redis when ``redis_url`` is set."""

    redis_url: str | None = None
    replica: str | None = None  # default: host name and process id
    channel: str = "kimi-proxy-hub"


@dataclass(frozen=True)
class TelemetryConfig:
    """``[telemetry]``: OpenTelemetry traces over OTLP/HTTP (protobuf). Absent: no tracing."""

    endpoint: str = "http://127.0.0.1:4318/v1/traces"  # a collector's OTLP/HTTP traces URL
    service_name: str = "kimi-proxy-hub"
    headers: dict[str, str] = field(default_factory=dict)  # e.g. a collector's API key
    sample_ratio: float = 1.0  # of traces the hub starts; a client's sampled flag wins
    timeout: float = 10.0  # seconds per export (in the exporter's thread, never the loop)


@dataclass(frozen=True)
class OAuthScopeConfig:
    """``[auth.oauth.scopes.NAME]``: what holding the scope NAME opens."""

    name: str
    # MCP endpoints by profile pattern: "default" is /mcp, NAME /profiles/NAME/mcp,
    # "servers/NAME" /servers/NAME/mcp
    profiles: tuple[str, ...] = ("*",)
    tools: tuple[str, ...] = ()  # tool patterns; () opens every tool of those endpoints


@dataclass(frozen=True)
class OAuthConfig:
    """``[auth.oauth]``: the hub as an OAuth 2.1 protected resource (JWT access tokens)."""

    issuer: str  # compared as written: no trailing slash added or removed
    audience: str | None = None  # the hub's resource URL; None: its own /mcp URL (loopback)
    scopes_supported: tuple[str, ...] = ()
    required_scopes: tuple[str, ...] = ()  # every token needs them all
    scopes: dict[str, OAuthScopeConfig] = field(default_factory=dict)
    limit_by: str = "subject"  # whose budget and rates: "subject" (sub) or "client" (client_id)
    budget: float | None = None
    period: str = "total"
    rpm: int | None = None
    tpm: int | None = None
    models: tuple[str, ...] = ()
    leeway: float = 30.0  # seconds of clock skew tolerated on exp / nbf
    jwks_refresh: float = 30.0  # an unknown kid refetches the JWKS at most this often
    jwks_max_age: float = 3600.0  # the JWKS is refetched past this age


@dataclass(frozen=True)
class HubConfig:
    source: Path
    server: ServerConfig = ServerConfig()
    database_path: Path = Path("data/sessions.db")
    database: DatabaseConfig = DatabaseConfig()
    cluster: ClusterConfig = ClusterConfig()
    retry: RetryConfig = RetryConfig()
    providers: dict[str, ProviderConfig] = field(default_factory=dict)
    models: dict[str, ModelConfig] = field(default_factory=dict)
    sessions: SessionsConfig = SessionsConfig()
    savings: SavingsConfig = SavingsConfig()
    mcp: McpConfig = McpConfig()
    logging: LoggingConfig = LoggingConfig()
    limits: LimitsConfig = LimitsConfig()
    oauth: OAuthConfig | None = None  # [auth.oauth]
    telemetry: TelemetryConfig | None = None  # [telemetry]

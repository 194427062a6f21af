"""The environment of a stdio child: the SDK's minimal one, the documented allow-list
below from the hub's own environment, then the server's ``env`` (which wins).

Without certificates, proxies and runtime paths a child such as ``npx`` can hang on a
machine that needs them (a corporate CA in ``NODE_EXTRA_CA_CERTS``, an HTTPS proxy),
silently. Nothing else of the hub's environment is passed on: provider keys and the
hub's own secrets stay out, and so does any allowed name that looks like a secret.
"""

from __future__ import annotations

from collections.abc import Mapping

from mcp.client.stdio import get_default_environment

INHERITED = frozenset(
    {
        # certificates
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "NODE_EXTRA_CA_CERTS",
        # proxies
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "no_proxy",
        "all_proxy",
        # locale, time zone, temporary files, user directories
        "LANG",
        "LANGUAGE",
        "TZ",
        "TMPDIR",
        "XDG_CONFIG_HOME",
        "XDG_CACHE_HOME",
        "XDG_DATA_HOME",
        "XDG_RUNTIME_DIR",
        # runtimes and their package managers
        "VIRTUAL_ENV",
        "CONDA_PREFIX",
        "GOPATH",
        "CARGO_HOME",
        "RUSTUP_HOME",
        "JAVA_HOME",
        "NVM_DIR",
        "VOLTA_HOME",
        "PNPM_HOME",
        "UV_CACHE_DIR",
    }
)
INHERITED_PREFIXES = ("LC_", "NODE_", "NPM_CONFIG_", "npm_config_", "PYTHON", "PIP_")
SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "AUTH", "CREDENTIAL")


def _inherited(name: str) -> bool:
    if any(word in name.upper() for word in SECRET_WORDS):
        return False
    return name in INHERITED or name.startswith(INHERITED_PREFIXES)


def child_environment(hub_env: Mapping[str, str], env: Mapping[str, str]) -> dict[str, str]:
    allowed = {name: value for name, value in hub_env.items() if _inherited(name)}
    return get_default_environment() | allowed | dict(env)

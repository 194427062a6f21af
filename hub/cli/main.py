"""``kimi-proxy``: the command the scripts and users run."""

from __future__ import annotations

import argparse
import errno
import gc
import logging
import math
import os
import socket
import sys
from dataclasses import replace
from pathlib import Path

import anyio
import uvicorn
from starlette.applications import Starlette
from uvicorn.supervisors import Multiprocess

from hub.api.app import create_app, open_hub
from hub.api.mcp.profiles import serve_stdio
from hub.api.middleware.slow_clients import HeaderDeadlineProtocol
from hub.cli import keys as keys_cli
from hub.cli import log_setup as hub_logs
from hub.config import ConfigError, HubConfig, load_config, with_bind
from hub.core.storage.store import Store
from hub.features.mcp_hub.servers_json import (
    configured_servers,
    import_into_config,
    import_servers,
)

CONFIG_ENV = "KIMI_PROXY_CONFIG"
WORKERS_ENV = "KIMI_PROXY_WORKERS"
HOST_ENV = "KIMI_PROXY_HOST"  # --host handed to the --reload and --workers processes


def _config(path: str | None, host: str | None = None, port: int | None = None) -> HubConfig:
    config = load_config(Path(path or os.environ.get(CONFIG_ENV, "config.toml")))
    return with_bind(config, host, port)  # the rules apply to the address actually bound


# The cyclic GC's young-generation threshold for a serving process (CPython's is 700).
GC_YOUNG_THRESHOLD = 10_000


def steady_gc() -> None:
    """Freeze what start-up created and collect young objects less often.

    The objects left by imports made every full collection long and young ones frequent,
    a large share of the hub's CPU under load (docs/BENCHMARKS.md). A request's objects
    die by reference counting; cycles are still collected, less often.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def app_from_env() -> Starlette:
    """Factory for ``uvicorn --reload`` and ``--workers``, which need an import string."""
    config = _config(None, os.environ.get(HOST_ENV))
    if os.environ.get(WORKERS_ENV) and config.cluster.replica:  # one name per worker
        named = f"{config.cluster.replica}/{os.getpid()}"
        config = replace(config, cluster=replace(config.cluster, replica=named))
    app = create_app(config, stop_limit=STOP_LIMIT)
    steady_gc()
    return app


# Seconds the hub's parts may take to close once the in-flight requests are done or
# cancelled (MCP children, rows, pools); past it the process says where it hangs and ends.
STOP_LIMIT = 20.0


def _deadline(config: HubConfig) -> int:
    """SIGTERM: in-flight requests get this long, then are cancelled (rows: cancelled)."""
    return max(1, math.ceil(config.server.shutdown_timeout))


def _workers(requested: int, config: HubConfig) -> int:
    """Several processes act as one hub only through [cluster]; else one, with a warning."""
    if requested > 1 and config.cluster.redis_url is None:
        logging.getLogger("hub").warning(
            "--workers %d demande [cluster] redis_url (les processus doivent partager"
            " événements et état) ; démarrage avec un seul processus.",
            requested,
        )
        return 1
    return requested


async def _migrate(config: HubConfig) -> None:
    """Bring the database up to date once, before the workers start."""
    store = await Store.open(config.database.url or config.database_path)
    await store.close()


def bind_error(host: str, port: int, exc: OSError) -> str:
    """Why the hub cannot listen, in French, with what to do about it."""
    where = f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"Le port {port} est déjà utilisé ({where}) : un autre hub ou un autre programme "
            "l'occupe. Arrêtez-le (./scripts/kimi-proxy stop s'il s'agit du hub) ou choisissez "
            f"un autre port (--port {port + 1 if port < 65535 else 8000}, ou [server].port "
            "dans config.toml)."
        )
    if exc.errno == errno.EACCES:
        return f"Permission refusée pour écouter sur {where} (ports < 1024 réservés à root)."
    if exc.errno in (errno.EADDRNOTAVAIL, socket.EAI_NONAME):
        return f"L'adresse {host} n'existe pas sur cette machine ([server].host ou --host)."
    return f"Impossible d'écouter sur {where} : {exc.strerror or exc}."


def listen(host: str, port: int) -> socket.socket:
    """Bind before the app starts, so a busy port is a clear French error, not a traceback."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, _, _, _, address = infos[0]
        sock = socket.socket(family, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConfigError(bind_error(host, port, OSError(exc.errno, exc.strerror))) from None
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise ConfigError(bind_error(host, port, exc)) from None
    return sock


def _serve(args: argparse.Namespace) -> None:
    hub_logs.configure(args.log_level, Path(args.log_file) if args.log_file else None)
    log = logging.getLogger("hub")
    try:
        config = _config(args.config, args.host, args.port)
        host, port = config.server.host, config.server.port
        sock = None if args.reload else listen(host, port)
    except ConfigError as exc:
        log.error("Démarrage impossible : %s", exc)
        raise SystemExit(2) from None
    workers = _workers(args.workers, config)
    if sock is None or workers > 1:
        os.environ[CONFIG_ENV] = str(config.source)
        os.environ[HOST_ENV] = host
    if sock is None:
        uvicorn.run(
            "hub.cli.main:app_from_env",
            factory=True,
            host=host,
            port=port,
            reload=True,
            http=HeaderDeadlineProtocol,
            log_config=None,
        )
        return
    log.info("Hub à l'écoute sur http://%s:%d (configuration : %s)", host, port, config.source)
    if workers > 1:  # each worker is one replica: its own MCP children, same database
        os.environ[WORKERS_ENV] = str(workers)
        anyio.run(_migrate, config)
        shared = uvicorn.Config(
            "hub.cli.main:app_from_env",
            factory=True,
            workers=workers,
            log_level=args.log_level,
            http=HeaderDeadlineProtocol,
            log_config=None,
            access_log=False,  # slowloris too
            timeout_graceful_shutdown=_deadline(config),
        )
        Multiprocess(shared, sockets=[sock]).run()
        return
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config, stop_limit=STOP_LIMIT),
            http=HeaderDeadlineProtocol,  # slowloris ([server].header_timeout)
            log_level=args.log_level,
            log_config=None,
            access_log=False,  # the request journal is the hub's access log
            timeout_graceful_shutdown=_deadline(config),
        )
    )
    steady_gc()
    server.run(sockets=[sock])


def _check(args: argparse.Namespace) -> None:
    config = _config(args.config, args.host)
    if args.print_address:  # for scripts/kimi-proxy: where to wait for /health
        print(config.server.host, config.server.port)
        return
    if args.shutdown_timeout:  # for scripts/kimi-proxy stop
        print(config.server.shutdown_timeout)
        return
    print(f"Configuration valide : {config.source}")
    print(f"  {len(config.providers)} fournisseur(s), {len(config.models)} modèle(s)")
    print(f"  {len(configured_servers(config.mcp, os.environ))} serveur(s) MCP amont")
    if config.mcp.profiles:
        print(f"  profils MCP : {', '.join(sorted(config.mcp.profiles))}")


def _mcp_import(args: argparse.Namespace) -> None:
    target = Path(args.config or os.environ.get(CONFIG_ENV, "config.toml"))
    text = import_into_config(Path(args.file), target, dry_run=args.dry_run)
    print(text if args.dry_run else f"Serveurs MCP ajoutés à {target} :\n{text}")
    servers = import_servers(Path(args.file))
    for warning in (w for server in servers for w in server.warnings):
        print(f"Attention : {warning}", file=sys.stderr)
    variables = sorted({v for s in servers for v in s.variables})
    if variables:
        print("Variables d'environnement à définir : " + ", ".join(variables))


def _mcp(args: argparse.Namespace) -> None:
    # stdout is the protocol channel: every log line goes to stderr, in serve's format.
    hub_logs.configure(args.log_level)
    config = _config(args.config)
    if args.profile != "default" and args.profile not in config.mcp.profiles:
        known = ", ".join(["default", *sorted(config.mcp.profiles)])
        raise ConfigError(f"profil MCP « {args.profile[:60]} » inconnu (profils : {known})")

    async def run() -> None:
        async with open_hub(config) as hub:
            await serve_stdio(hub, args.profile)

    anyio.run(run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kimi-proxy", description="Kimi Proxy Hub")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="démarrer le hub (HTTP)")
    serve.add_argument("--config", help="chemin de config.toml")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--reload", action="store_true", help="recharger à chaque modification")
    serve.add_argument("--log-level", default="info")
    serve.add_argument("--log-file", help="journal (tourné à chaque démarrage, jamais tronqué)")
    serve.add_argument(
        "--workers", type=int, default=1, help="processus (mode équipe : [cluster] requis)"
    )
    serve.set_defaults(run=_serve)
    check = commands.add_parser("check-config", help="valider config.toml et quitter")
    check.add_argument("--config")
    check.add_argument("--host", help="adresse qui sera écoutée (règle de la clé API)")
    check.add_argument("--print-address", action="store_true", help="afficher « hôte port »")
    check.add_argument("--shutdown-timeout", action="store_true", help=argparse.SUPPRESS)
    check.set_defaults(run=_check)
    mcp = commands.add_parser("mcp", help="serveur MCP sur stdio (mêmes outils que /mcp)")
    mcp.add_argument("--config")
    mcp.add_argument("--log-level", default="warning")
    mcp.add_argument("--profile", default="default", help="profil d'outils ([mcp.profiles.NOM])")
    mcp.set_defaults(run=_mcp)
    # A command of its own, so that `kimi-proxy mcp` stays the stdio MCP server.
    mcp_import = commands.add_parser(
        "mcp-import", help="importer un JSON mcpServers (Claude Desktop, Cursor) dans config.toml"
    )
    mcp_import.add_argument("file", help="fichier JSON contenant « mcpServers »")
    mcp_import.add_argument("--config", help="config.toml à compléter")
    mcp_import.add_argument("--dry-run", action="store_true", help="afficher sans écrire")
    mcp_import.set_defaults(run=_mcp_import)
    keys_cli.register(commands, _config)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except ConfigError as exc:
        print(f"Erreur de configuration : {exc}", file=sys.stderr)
        raise SystemExit(2) from None

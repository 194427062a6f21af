"""Helper of scripts/start-mcp-servers.sh (not a module of the hub).

``plan CONFIG RUN_DIR``: one line per standalone HTTP upstream (both ``command`` and
``url`` in config.toml): ``NAME<TAB>URL<TAB>RUN_FILE``, where RUN_FILE is a mode-600
shell file (cd + exports + exec line) so secrets never reach a command line.
``ping URL [TIMEOUT]``: exit 0 once the server answers an MCP ping.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import anyio


def plan(config_path: str, run_dir: str) -> None:
    from hub.config import load_config

    config = load_config(Path(config_path))
    folder = Path(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for name, server in sorted(config.mcp.servers.items()):
        if not (server.enabled and server.command and server.url):
            continue
        lines = [f"cd {shlex.quote(server.cwd or str(config.source.parent))}"]
        lines += [f"export {k}={shlex.quote(v)}" for k, v in server.env.items()]
        lines.append("exec " + shlex.join([server.command, *server.args]))
        run_file = folder / f"{name}.run"
        fd = os.open(run_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        print(f"{name}\t{server.url}\t{run_file}")


async def _ping(url: str, limit: float) -> None:
    from mcp.client import Client

    with anyio.fail_after(limit):
        async with Client(url, mode="legacy", cache=None) as client:
            await client.session.send_ping()


def ping(url: str, limit: float) -> int:
    try:
        anyio.run(_ping, url, limit)
    except Exception:  # noqa: BLE001 (any failure means "not ready yet"; the caller retries)
        return 1
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "plan":
        plan(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "ping":
        raise SystemExit(ping(sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 3.0))

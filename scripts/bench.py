"""``python scripts/bench.py NAME [args]``: run ``bench/NAME.py``'s ``main(argv)``."""

from __future__ import annotations

import asyncio
import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit("Usage : python scripts/bench.py NOM [arguments]")
    module = importlib.import_module(f"bench.{sys.argv[1]}")
    asyncio.run(module.main(sys.argv[2:]))

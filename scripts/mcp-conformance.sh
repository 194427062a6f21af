#!/usr/bin/env bash
# The official MCP conformance suite (both requirement sets) against its reference server,
# alone and through each kind of hub endpoint; prints the table (scripts/mcp_conformance.py).
#   scripts/mcp-conformance.sh [OUT_DIR]        (after scripts/test-setup.sh)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${KIMI_PROXY_PYTHON:-$ROOT/.venv/bin/python}"
exec "$PY" "$ROOT/scripts/mcp_conformance.py" "$@"

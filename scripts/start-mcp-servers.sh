#!/usr/bin/env bash
# Start/stop the upstream MCP servers that run as standalone HTTP processes, i.e. those
# declared in config.toml with both `command` and `url`. (The hub owns its stdio children.)
#   scripts/start-mcp-servers.sh start|stop|status|restart [--config FILE]
# The hub then serves each one alone at /servers/NAME/mcp (and prefixed at /mcp).
# Each server gets .kimi-proxy/mcp/NAME.pid and NAME.log; stop only ends processes whose
# pid file this script wrote (by pid and process group, never by name).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${KIMI_PROXY_PYTHON:-$ROOT/.venv/bin/python}"
RUN_DIR="${KIMI_PROXY_MCP_RUN_DIR:-$ROOT/.kimi-proxy/mcp}"
HELPER="$ROOT/scripts/lib/mcp_servers_plan.py"
CONFIG="${KIMI_PROXY_CONFIG:-$ROOT/config.toml}"
WAIT_SECONDS="${KIMI_PROXY_MCP_WAIT:-30}"

say() { printf '%s\n' "$*" >&2; }

args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --config) CONFIG="$2"; shift 2 ;;
    --config=*) CONFIG="${1#*=}"; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
ACTION="${args[0]:-}"

export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
plan() { (cd "$ROOT" && "$PY" "$HELPER" plan "$CONFIG" "$RUN_DIR"); }

# The pid recorded for NAME if that process is still the one this script started.
live_pid() {
  local name="$1" pid_file="$RUN_DIR/$1.pid" pid started
  [[ -f "$pid_file" ]] || return 1
  read -r pid started <"$pid_file" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/stat" ]] || return 1
  # Field 22 of /proc/PID/stat is the start time: a reused pid will not match.
  [[ "$(awk '{print $22}' "/proc/$pid/stat" 2>/dev/null)" == "$started" ]] || return 1
  echo "$pid"
}

start_one() {
  local name="$1" url="$2" run_file="$3" pid
  if pid="$(live_pid "$name")"; then say "« $name » tourne déjà (pid $pid)."; return 0; fi
  setsid bash "$run_file" >"$RUN_DIR/$name.log" 2>&1 </dev/null &
  pid=$!
  sleep 0.05
  echo "$pid $(awk '{print $22}' "/proc/$pid/stat" 2>/dev/null)" >"$RUN_DIR/$name.pid"
  local deadline=$((SECONDS + WAIT_SECONDS))
  while ((SECONDS < deadline)); do
    if (cd "$ROOT" && "$PY" "$HELPER" ping "$url" 2); then
      say "« $name » prêt : $url (pid $pid, journal : $RUN_DIR/$name.log ; via le hub : /servers/$name/mcp)"; return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      say "« $name » s'est arrêté au démarrage :"; tail -n 20 "$RUN_DIR/$name.log" >&2
      rm -f "$RUN_DIR/$name.pid"; return 1
    fi
    sleep 0.3
  done
  say "« $name » ne répond pas au ping MCP après ${WAIT_SECONDS} s (voir $RUN_DIR/$name.log)."
  return 1
}

stop_one() {
  local name="$1" pid
  if ! pid="$(live_pid "$name")"; then
    rm -f "$RUN_DIR/$name.pid"; say "« $name » n'est pas démarré."; return 0
  fi
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    say "Arrêt forcé de « $name » (pid $pid)."; kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$RUN_DIR/$name.pid"
  say "« $name » arrêté."
}

status_all() {
  local name url run_file pid state
  printf '%-20s %-8s %-8s %-40s %s\n' "SERVEUR" "ÉTAT" "PID" "URL" "VIA LE HUB"
  while IFS=$'\t' read -r name url run_file; do
    if pid="$(live_pid "$name")"; then
      if (cd "$ROOT" && "$PY" "$HELPER" ping "$url" 2); then state="prêt"; else state="muet"; fi
    else
      pid="-"; state="arrêté"
    fi
    printf '%-20s %-8s %-8s %-40s %s\n' "$name" "$state" "$pid" "$url" "/servers/$name/mcp"
  done <<<"$PLAN"
}

mkdir -p "$RUN_DIR"
if [[ "$ACTION" =~ ^(start|stop|status)$ ]]; then
  PLAN="$(plan)" || { say "Configuration illisible : $CONFIG"; exit 2; }
  [[ -n "$PLAN" ]] || { say "Aucun serveur MCP HTTP autonome (command + url) dans $CONFIG."; exit 0; }
fi
case "$ACTION" in
  start)
    failed=0
    while IFS=$'\t' read -r name url run_file; do
      start_one "$name" "$url" "$run_file" || failed=1
    done <<<"$PLAN"
    exit "$failed" ;;
  stop)
    while IFS=$'\t' read -r name _url _run; do stop_one "$name"; done <<<"$PLAN" ;;
  status) status_all ;;
  restart) "$0" stop --config "$CONFIG"; exec "$0" start --config "$CONFIG" ;;
  *) say "Usage : $0 {start|stop|status|restart} [--config FICHIER]"; exit 64 ;;
esac

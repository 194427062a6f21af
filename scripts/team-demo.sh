#!/usr/bin/env bash
# Team mode on one machine: PostgreSQL, Redis, two hub replicas and nginx in front,
# all from Debian's packages, all inside one private folder (no system service touched).
#   ./scripts/team-demo.sh start [--config config.toml]   then open http://127.0.0.1:8090/
#   ./scripts/team-demo.sh stop
# Folder: $KIMI_TEAM_DIR (.kimi-team). Ports: $KIMI_TEAM_PORT (8090, nginx),
# replicas on +11 and +12, PostgreSQL on +21, Redis on +22.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$(mkdir -p "${KIMI_TEAM_DIR:-$ROOT/.kimi-team}" && cd "${KIMI_TEAM_DIR:-$ROOT/.kimi-team}" && pwd)"
VENV="${KIMI_PROXY_VENV:-$ROOT/.venv}"
PORT="${KIMI_TEAM_PORT:-8090}"
REPLICAS=("$((PORT + 11))" "$((PORT + 12))")
PG_PORT="$((PORT + 21))"
REDIS_PORT="$((PORT + 22))"
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"

say() { printf '%s\n' "$*" >&2; }

as_pg() {  # PostgreSQL refuses to run as root
  if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

need() {
  local missing=()
  [[ -x "$PG_BIN/initdb" ]] || missing+=(postgresql)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v nginx >/dev/null || missing+=(nginx)
  if ((${#missing[@]})); then
    say "Paquets manquants : ${missing[*]}"
    say "  sudo apt-get install ${missing[*]}   (aucun service système n'est utilisé)"
    exit 1
  fi
  if [[ ! -x "$VENV/bin/python" ]]; then python3 -m venv "$VENV"; fi
  if ! "$VENV/bin/python" -c "import asyncpg, redis, hub" 2>/dev/null; then
    say "Installation du hub avec le mode équipe ([team])…"
    "$VENV/bin/python" -m pip install --quiet -e "$ROOT[team]"
  fi
}

wait_http() {  # wait_http URL: until it answers (30 s)
  for _ in $(seq 1 150); do
    if "$VENV/bin/python" -c "import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)" "$1" 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  say "Pas de réponse de $1 ; journaux dans $DIR"; exit 1
}

start_postgres() {
  if [[ ! -d "$DIR/pg/data" ]]; then
    mkdir -p "$DIR/pg"
    if [[ "$(id -u)" == 0 ]]; then chown postgres "$DIR/pg"; chmod 755 "$DIR"; fi
    as_pg "$PG_BIN/initdb" -D "$DIR/pg/data" -U postgres -A trust -E UTF8 --locale=C >/dev/null
  fi
  as_pg "$PG_BIN/pg_ctl" -D "$DIR/pg/data" -l "$DIR/pg/pg.log" -w start \
    -o "-p $PG_PORT -k $DIR/pg -c listen_addresses=127.0.0.1" >/dev/null
  if ! as_pg "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = 'kimi'" | grep -q 1; then
    as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres kimi
  fi
}

start_redis() {
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$DIR" --save "" \
    --appendonly no --daemonize yes --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log"
}

write_config() {  # the user's config, with PostgreSQL and Redis set
  "$VENV/bin/python" - "$1" "$DIR/config.toml" "$PG_PORT" "$REDIS_PORT" <<'PYEOF'
import sys
from pathlib import Path
import tomlkit
source, target, pg, redis = Path(sys.argv[1]).resolve(), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
doc = tomlkit.parse(source.read_text(encoding="utf-8")) if source.exists() else tomlkit.document()
database = doc.setdefault("database", tomlkit.table())
database.pop("path", None)
database["url"] = f"postgresql://postgres@127.0.0.1:{pg}/kimi"
doc.setdefault("cluster", tomlkit.table())["redis_url"] = f"redis://127.0.0.1:{redis}/0"
mcp = doc.get("mcp")
if mcp is not None and "workspace" in mcp and not Path(mcp["workspace"]).is_absolute():
    mcp["workspace"] = str((source.parent / mcp["workspace"]).resolve())
target.write_text(tomlkit.dumps(doc), encoding="utf-8")
PYEOF
}

start_replicas() {
  local i port
  for i in 0 1; do
    port="${REPLICAS[$i]}"
    nohup "$VENV/bin/kimi-proxy" serve --config "$DIR/config.toml" --port "$port" \
      --log-level warning >"$DIR/replica-$port.log" 2>&1 &
    echo $! >"$DIR/replica-$port.pid"
  done
  for port in "${REPLICAS[@]}"; do wait_http "http://127.0.0.1:$port/health"; done
}

start_nginx() {
  mkdir -p "$DIR/nginx/logs" "$DIR/nginx/tmp"
  local user=""
  if [[ "$(id -u)" == 0 ]]; then user="user root;"; fi
  cat >"$DIR/nginx/nginx.conf" <<NGINX
$user
worker_processes 1;
pid $DIR/nginx/nginx.pid;
error_log $DIR/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $DIR/nginx/tmp/body;
  proxy_temp_path $DIR/nginx/tmp/proxy;
  fastcgi_temp_path $DIR/nginx/tmp/fastcgi;
  uwsgi_temp_path $DIR/nginx/tmp/uwsgi;
  scgi_temp_path $DIR/nginx/tmp/scgi;
  client_max_body_size 25m;
  upstream kimi_hub {
    server 127.0.0.1:${REPLICAS[0]};
    server 127.0.0.1:${REPLICAS[1]};
    keepalive 64;
  }
  # MCP: protocol 2026-07-28 is stateless (any replica); an older client's session lives
  # on the replica that answered its initialize, which carries no session id yet: such
  # clients stay on one replica per address (docs/TEAM.md, tests/team/test_team_nginx.py).
  map \$http_mcp_protocol_version \$kimi_mcp_key {
    "2026-07-28"  \$request_id;
    default       \$remote_addr;
  }
  upstream kimi_mcp {
    hash \$kimi_mcp_key consistent;
    server 127.0.0.1:${REPLICAS[0]};
    server 127.0.0.1:${REPLICAS[1]};
    keepalive 16;
  }
  server {
    listen 127.0.0.1:$PORT;
    proxy_http_version 1.1;
    proxy_buffering off;  # SSE streams pass through as they come
    proxy_read_timeout 600s;
    # proxy_set_header is not inherited by a location that sets its own: Host (the hub
    # checks it against DNS rebinding) is repeated in each.
    location = /ws {
      proxy_pass http://kimi_hub;
      proxy_set_header Host \$http_host;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_read_timeout 1h;
    }
    location ~ /mcp\$ {
      proxy_pass http://kimi_mcp;
      proxy_set_header Host \$http_host;
      proxy_set_header Connection "";
      proxy_read_timeout 1h;
    }
    location / {
      proxy_pass http://kimi_hub;
      proxy_set_header Host \$http_host;
      proxy_set_header Connection "";
    }
  }
}
NGINX
  nginx -p "$DIR/nginx" -c "$DIR/nginx/nginx.conf"
}

cmd_start() {
  local config="config.toml"
  if [[ "${1:-}" == "--config" && -n "${2:-}" ]]; then config="$2"; fi
  need
  if [[ -f "$DIR/nginx/nginx.pid" ]]; then say "Déjà démarré ($DIR) ; « $0 stop » d'abord."; exit 1; fi
  say "PostgreSQL (port $PG_PORT), Redis (port $REDIS_PORT)…"
  start_postgres
  start_redis
  write_config "$config"
  say "Deux répliques (ports ${REPLICAS[*]})…"
  start_replicas
  say "nginx (port $PORT)…"
  start_nginx
  wait_http "http://127.0.0.1:$PORT/health"
  say "Mode équipe prêt : http://127.0.0.1:$PORT/ (tableau de bord, /chat/completions, /mcp)"
  say "Fichiers et journaux : $DIR ; arrêt : $0 stop"
}

stop_pid() {  # stop_pid FILE: TERM, then KILL after 10 s
  [[ -f "$1" ]] || return 0
  local pid; pid="$(cat "$1")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$1"
}

cmd_stop() {
  if [[ -f "$DIR/nginx/nginx.pid" ]]; then nginx -p "$DIR/nginx" -c "$DIR/nginx/nginx.conf" -s quit || true; fi
  for port in "${REPLICAS[@]}"; do stop_pid "$DIR/replica-$port.pid"; done
  stop_pid "$DIR/redis.pid"
  if [[ -f "$DIR/pg/data/postmaster.pid" ]]; then
    as_pg "$PG_BIN/pg_ctl" -D "$DIR/pg/data" -m fast -w stop >/dev/null || true
  fi
  rm -f "$DIR/nginx/nginx.pid"
  say "Mode équipe arrêté (données gardées dans $DIR)."
}

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  stop) cmd_stop ;;
  *) say "usage : $0 start [--config config.toml] | stop"; exit 2 ;;
esac

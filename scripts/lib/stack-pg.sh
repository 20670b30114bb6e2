# shellcheck shell=bash
# The stack's private PostgreSQL cluster (sourced by scripts/stack after
# lib/stack.sh, whose globals and helpers it uses).

# ---- PostgreSQL (private cluster, run by the postgres user when we are root) ----
pg_bindir() {
  local d
  d="$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)"
  [[ -n "$d" && -x "$d/initdb" ]] && { echo "$d"; return; }
  command -v initdb >/dev/null && { dirname "$(command -v initdb)"; return; }
  leadhook_die "PostgreSQL server binaries not found (apt-get install postgresql)"
}

as_pg() { # run a PostgreSQL program as the cluster's owner, from a directory it can reach
  if ((EUID == 0)); then (cd / && runuser -u postgres -- "$@"); else (cd / && "$@"); fi
}

pg_running() {
  [[ -n "${ST[PG_DATA]-}" && -d "${ST[PG_DATA]}" ]] &&
    as_pg "${ST[PG_BIN]}/pg_ctl" -D "${ST[PG_DATA]}" status >/dev/null 2>&1
}

pg_start() {
  as_pg "${ST[PG_BIN]}/pg_ctl" -D "${ST[PG_DATA]}" -w -t 30 -s start </dev/null >>"${ST[PG_LOG]}" 2>&1 ||
    die_log "PostgreSQL did not start" "${ST[PG_LOG]}"
  local deadline=$((SECONDS + 20))
  until "${ST[PG_BIN]}/pg_isready" -q -h "${ST[PG_SOCKET_DIR]}" -p 5432; do
    ((SECONDS < deadline)) || die_log "PostgreSQL does not accept connections" "${ST[PG_LOG]}"
    sleep 0.2
  done
}

pg_stop() {
  if pg_running; then
    as_pg "${ST[PG_BIN]}/pg_ctl" -D "${ST[PG_DATA]}" -m fast -w -t 60 -s stop </dev/null >>"${ST[PG_LOG]}" 2>&1 ||
      die_log "PostgreSQL did not stop" "${ST[PG_LOG]}"
    leadhook_say "PostgreSQL stopped"
  else
    leadhook_say "PostgreSQL was not running"
  fi
}

pg_create() {
  local rt="${ST[LEADHOOK_RUNTIME_DIR]}" owner
  owner="$(id -un)"
  if ((EUID == 0)); then
    owner=postgres
    getent passwd postgres >/dev/null || leadhook_die "no 'postgres' user to run PostgreSQL as (apt-get install postgresql)"
  fi
  ST[PG_BIN]="$(pg_bindir)" ST[PG_DATA]="$rt/pgdata" ST[PG_SOCKET_DIR]="$rt/pg"
  ST[PG_OS_USER]="$owner" ST[PG_LOG]="$DIR/postgresql.log"
  mkdir -m 0700 "$rt/pgdata" && mkdir -m 0755 "$rt/pg"
  if ((EUID == 0)); then chown "$owner:" "$rt/pgdata" "$rt/pg"; fi
  : >"${ST[PG_LOG]}"
  save_state
  as_pg "${ST[PG_BIN]}/initdb" -D "${ST[PG_DATA]}" -U leadhook --auth=trust -E UTF8 --locale=C -N \
    </dev/null >>"${ST[PG_LOG]}" 2>&1 || die_log "initdb failed" "${ST[PG_LOG]}"
  cat >>"${ST[PG_DATA]}/postgresql.conf" <<EOF

# scripts/stack: private throwaway cluster, unix socket only
listen_addresses = ''
unix_socket_directories = '${ST[PG_SOCKET_DIR]}'
port = 5432
shared_buffers = 16MB
max_connections = 40
fsync = on
EOF
  pg_start
  psql -X -q -v ON_ERROR_STOP=1 -d "host=${ST[PG_SOCKET_DIR]} port=5432 dbname=postgres user=leadhook" \
    -c 'CREATE DATABASE leadhook' </dev/null >>"${ST[PG_LOG]}" 2>&1 || die_log "CREATE DATABASE failed" "${ST[PG_LOG]}"
  ST[LEADHOOK_DATABASE_URL]="host=${ST[PG_SOCKET_DIR]} port=5432 dbname=leadhook user=leadhook"
}

apply_schema() { # `leadhook migrate` (the schema built into the binary), private or external database alike
  local log="$DIR/schema.log" n
  : >"$log"
  # Only the stack's database URL: migrate needs no keys, and a caller's
  # LEADHOOK_* settings are leadhook serve's business.
  (
    while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep '^LEADHOOK_' || true)
    exec env LEADHOOK_DATABASE_URL="${ST[LEADHOOK_DATABASE_URL]}" "${ST[LEADHOOK_BIN]}" migrate
  ) </dev/null >>"$log" 2>&1 || die_log "leadhook migrate failed" "$log"
  n="$(grep -c '^applied ' "$log" || true)"
  if ((n > 0)); then leadhook_say "schema migrated ($n migrations applied, see $log)"
  else leadhook_say "$(tail -n 1 "$log")"; fi
}

# shellcheck shell=bash
# Building blocks of scripts/stack (source after deps.sh): the stack's state
# file, process checks, the private PostgreSQL cluster, leadhook and nginx.
# They use these globals of scripts/stack: DIR (absolute stack dir), ROOT,
# KEYS and THREADS (for leadhook's environment), and the ST map (stack.env).

KEYS_ORDER=(LEADHOOK_STACK_DIR LEADHOOK_RUNTIME_DIR LEADHOOK_HTTP_PORT LEADHOOK_HTTP_URL
  LEADHOOK_DATABASE_URL LEADHOOK_DATABASE_EXTERNAL LEADHOOK_SOCKET LEADHOOK_BIN LEADHOOK_PID
  LEADHOOK_PID_START LEADHOOK_LOG NGINX_PID NGINX_PID_START NGINX_CONF NGINX_ERROR_LOG NGINX_ACCESS_LOG PG_BIN PG_DATA
  PG_SOCKET_DIR PG_OS_USER PG_LOG)
declare -A ST=()

save_state() {
  local k v
  {
    echo "# leadhook dev stack (scripts/stack); shell-sourceable KEY='value' lines"
    for k in "${KEYS_ORDER[@]}"; do
      v="${ST[$k]-}"
      printf "%s='%s'\n" "$k" "${v//\'/\'\\\'\'}"
    done
  } >"$DIR/stack.env.tmp"
  mv -f "$DIR/stack.env.tmp" "$DIR/stack.env"
}

load_state() {
  local line k v
  [[ -f "$DIR/stack.env" ]] || return 1
  while IFS= read -r line; do
    [[ "$line" == \#* || "$line" != *=* ]] && continue
    k="${line%%=*}" v="${line#*=}"
    v="${v#\'}" v="${v%\'}"
    ST[$k]="${v//\'\\\'\'/\'}"
  done <"$DIR/stack.env"
}

die_log() { # MESSAGE LOGFILE...: the message and the tail of each log, then exit 1
  local msg="$1" f
  shift
  for f in "$@"; do
    [[ -s "$f" ]] || continue
    printf -- '--- last lines of %s ---\n' "$f" >&2
    tail -n 25 "$f" >&2
  done
  leadhook_die "$msg"
}

proc_start() { # PID: its start time in clock ticks; fails when gone or a zombie
  local stat fields
  [[ "$1" =~ ^[0-9]+$ ]] && stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  read -ra fields <<<"${stat##*) }"
  [[ "${fields[0]}" != Z ]] && echo "${fields[19]}"
}

alive() { # leadhook|nginx: is the process we started running? (pid + start time: a reused pid does not count)
  local pid="${ST[${1^^}_PID]-}" start="${ST[${1^^}_PID_START]-}" now
  now="$(proc_start "$pid")" || return 1
  [[ -z "$start" || "$now" == "$start" ]]
}

wait_gone() { # leadhook|nginx SECONDS
  local deadline=$((SECONDS + $2))
  while alive "$1"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# shellcheck disable=SC2016 # $1 belongs to the inner shell
port_in_use() { timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null; }

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

apply_schema() {
  local f n=0 log="$DIR/schema.log"
  : >"$log"
  for f in "$ROOT"/sql/*.sql; do
    [[ -f "$f" ]] || continue
    echo "== $f" >>"$log"
    psql -X -q -v ON_ERROR_STOP=1 --single-transaction -d "${ST[LEADHOOK_DATABASE_URL]}" -f "$f" \
      </dev/null >>"$log" 2>&1 || die_log "applying $f failed" "$log"
    n=$((n + 1))
  done
  ((n > 0)) || leadhook_die "no schema files in $ROOT/sql"
  leadhook_say "schema applied ($n files)"
}

# ---- leadhook ----
write_leadhook_env() { # the environment leadhook runs with, kept for leadhook-restart
  local name value
  (
    umask 077
    {
      echo "# environment of 'leadhook serve' (scripts/stack); holds the signing keys"
      while IFS= read -r name; do
        value="${!name}"
        [[ "$name" == LEADHOOK_SIGNING_KEY_FILE && "$value" != /* ]] && value="$PWD/$value"
        printf 'export %s=%q\n' "$name" "$value"
      done < <(compgen -e | grep '^LEADHOOK_' | grep -vxE 'LEADHOOK_(LISTEN|SOCKET_MODE|DATABASE_URL)' || true)
      printf 'export LEADHOOK_LISTEN=%q\n' "unix:${ST[LEADHOOK_SOCKET]}"
      echo "export LEADHOOK_SOCKET_MODE=0666 # the runtime dir is private to this stack"
      printf 'export LEADHOOK_DATABASE_URL=%q\n' "${ST[LEADHOOK_DATABASE_URL]}"
      [[ -z "$KEYS" ]] || printf 'export LEADHOOK_SIGNING_KEYS=%q\n' "$KEYS"
      [[ -z "$THREADS" ]] || printf 'export LEADHOOK_THREADS=%q\n' "$THREADS"
    } >"$DIR/leadhook.env"
  )
}

launch_leadhook() {
  local pidf="$DIR/leadhook.pid" sock="${ST[LEADHOOK_SOCKET]}" deadline
  rm -f "$pidf" "$DIR/leadhook.exit" "$sock"
  # A small parent in its own session runs leadhook and records its exit status.
  (
    cd "$DIR" || exit 1
    while IFS= read -r name; do unset "$name"; done < <(compgen -e | grep '^LEADHOOK_' || true)
    # shellcheck source=/dev/null
    source "$DIR/leadhook.env"
    # shellcheck disable=SC2016 # $1.. belong to the inner shell
    exec setsid bash -c '"$1" serve & echo "$!" >"$2.tmp" && mv "$2.tmp" "$2"; wait "$!"
      echo "$?" >"$3.tmp" && mv "$3.tmp" "$3"' leadhook-launcher "${ST[LEADHOOK_BIN]}" "$pidf" "$DIR/leadhook.exit"
  ) </dev/null >>"${ST[LEADHOOK_LOG]}" 2>&1 &
  deadline=$((SECONDS + 5))
  until [[ -s "$pidf" ]]; do
    ((SECONDS < deadline)) || die_log "leadhook did not start" "${ST[LEADHOOK_LOG]}"
    sleep 0.05
  done
  ST[LEADHOOK_PID]="$(<"$pidf")"
  ST[LEADHOOK_PID_START]="$(proc_start "${ST[LEADHOOK_PID]}" || true)"
  save_state
  deadline=$((SECONDS + 20))
  until [[ -S "$sock" ]]; do
    alive leadhook ||
      die_log "leadhook exited at startup (status $(cat "$DIR/leadhook.exit" 2>/dev/null || echo '?'))" "${ST[LEADHOOK_LOG]}"
    ((SECONDS < deadline)) || die_log "leadhook did not create $sock within 20 s" "${ST[LEADHOOK_LOG]}"
    sleep 0.1
  done
}

stop_leadhook() { # returns 3 when leadhook's exit status is not 0
  local pid="${ST[LEADHOOK_PID]-}" status i
  if alive leadhook; then
    kill -TERM "$pid"
    if ! wait_gone leadhook 30; then
      leadhook_warn "leadhook (pid $pid) still running 30 s after SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      wait_gone leadhook 5 || true
    fi
    for ((i = 0; i < 50; i++)); do [[ -f "$DIR/leadhook.exit" ]] && break; sleep 0.1; done
  elif [[ ! -f "$DIR/leadhook.exit" ]]; then
    leadhook_say "leadhook was not running"
    return 0
  fi
  status="$(cat "$DIR/leadhook.exit" 2>/dev/null || echo unknown)"
  mv -f "$DIR/leadhook.exit" "$DIR/leadhook.exit.reported" 2>/dev/null || true
  leadhook_say "leadhook stopped (pid $pid, exit status $status)"
  [[ "$status" == 0 ]] || return 3
}

# ---- nginx ----
# shellcheck disable=SC2094 # the error log is only written, never read, here
start_nginx() {
  local prefix="${ST[LEADHOOK_RUNTIME_DIR]}/nginx" site="$DIR/leadhook-dev.conf" user_line="" mod features worker
  mkdir -p "$prefix"
  sed -e "s|@HTTP_PORT@|${ST[LEADHOOK_HTTP_PORT]}|g" -e "s|@LEADHOOK_SOCKET@|${ST[LEADHOOK_SOCKET]}|g" \
    "$ROOT/deploy/nginx/leadhook-dev.conf" >"$site"
  if ((EUID == 0)); then # workers drop to an unprivileged user; all they touch is in the runtime dir
    worker=www-data
    getent passwd "$worker" >/dev/null || worker=nobody
    user_line="user $worker $(id -gn "$worker");"
  fi
  features="$(nginx -V 2>&1)"
  {
    echo "# generated by scripts/stack for $DIR"
    echo "$user_line"
    echo "worker_processes 1;"
    echo "pid \"$DIR/nginx.pid\";"
    echo "error_log \"${ST[NGINX_ERROR_LOG]}\" warn;"
    echo "events { worker_connections 256; }"
    echo "http {"
    echo "    default_type application/octet-stream;"
    echo "    server_tokens off;"
    echo "    log_format leadhook '\$remote_addr [\$time_local] \"\$request\" \$status \$body_bytes_sent \$request_time req=\$request_id';"
    echo "    access_log \"${ST[NGINX_ACCESS_LOG]}\" leadhook;"
    for mod in client_body fastcgi proxy scgi uwsgi; do
      [[ "$features" == *"without-http_${mod}_module"* ]] || echo "    ${mod}_temp_path \"$prefix/$mod\";"
    done
    echo "    include \"$site\";"
    echo "}"
  } >"${ST[NGINX_CONF]}"
  nginx -t -q -e "${ST[NGINX_ERROR_LOG]}" -p "$prefix/" -c "${ST[NGINX_CONF]}" </dev/null >>"${ST[NGINX_ERROR_LOG]}" 2>&1 ||
    die_log "nginx rejects ${ST[NGINX_CONF]}" "${ST[NGINX_ERROR_LOG]}"
  (exec setsid nginx -e "${ST[NGINX_ERROR_LOG]}" -p "$prefix/" -c "${ST[NGINX_CONF]}" -g 'daemon off;') \
    </dev/null >>"${ST[NGINX_ERROR_LOG]}" 2>&1 &
  ST[NGINX_PID]="$!"
  ST[NGINX_PID_START]="$(proc_start "$!" || true)"
  save_state
}

stop_nginx() {
  local pid="${ST[NGINX_PID]-}"
  if alive nginx; then
    kill -QUIT "$pid"
    if ! wait_gone nginx 10; then
      kill -TERM "$pid" 2>/dev/null || true
      wait_gone nginx 5 || kill -KILL "$pid" 2>/dev/null || true
    fi
    leadhook_say "nginx stopped"
  else
    leadhook_say "nginx was not running"
  fi
}

wait_ready() {
  local url="${ST[LEADHOOK_HTTP_URL]}/api/v1/index" deadline=$((SECONDS + 20))
  until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
    alive leadhook || die_log "leadhook exited" "${ST[LEADHOOK_LOG]}"
    alive nginx || die_log "nginx exited" "${ST[NGINX_ERROR_LOG]}"
    ((SECONDS < deadline)) ||
      die_log "no 200 from $url within 20 s" "${ST[LEADHOOK_LOG]}" "${ST[NGINX_ERROR_LOG]}" "${ST[NGINX_ACCESS_LOG]}"
    sleep 0.2
  done
}

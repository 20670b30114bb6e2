# shellcheck shell=bash
# Building blocks of scripts/stack (source after deps.sh): the stack's state
# file, process checks, leadhook and nginx (the PostgreSQL cluster is in stack-pg.sh).
# They use these globals of scripts/stack: DIR (absolute stack dir), ROOT,
# KEYS and THREADS (for leadhook's environment), and the ST map (stack.env).
#
# leadhook runs as LEADHOOK_INSTANCES processes (instances 1..N) with one
# environment (DIR/leadhook.env). Instance 1 keeps the original names
# (LEADHOOK_PID, leadhook.sock, leadhook.log, leadhook.pid); instance I > 1
# uses LEADHOOK_I_PID, leadhook-I.sock, leadhook-I.log, leadhook-I.pid.

KEYS_ORDER=(LEADHOOK_STACK_DIR LEADHOOK_RUNTIME_DIR LEADHOOK_HTTP_PORT LEADHOOK_HTTP_URL
  LEADHOOK_DATABASE_URL LEADHOOK_DATABASE_EXTERNAL LEADHOOK_SOCKET LEADHOOK_BIN LEADHOOK_PID
  LEADHOOK_PID_START LEADHOOK_LOG LEADHOOK_INSTANCES NGINX_PID NGINX_PID_START NGINX_CONF NGINX_ERROR_LOG
  NGINX_ACCESS_LOG PG_BIN PG_DATA PG_SOCKET_DIR PG_OS_USER PG_LOG)
INSTANCE_KEYS=(SOCKET PID PID_START LOG) # per instance I > 1: LEADHOOK_I_<key>
declare -A ST=()

instance_count() { echo "${ST[LEADHOOK_INSTANCES]:-1}"; }
inst_key() { if (($1 == 1)); then echo LEADHOOK; else echo "LEADHOOK_$1"; fi; }  # stack.env prefix
inst_name() { if (($1 == 1)); then echo leadhook; else echo "leadhook-$1"; fi; } # messages, file names

save_state() {
  local k v i
  local -a keys=("${KEYS_ORDER[@]}")
  for ((i = 2; i <= $(instance_count); i++)); do
    for k in "${INSTANCE_KEYS[@]}"; do keys+=("LEADHOOK_${i}_$k"); done
  done
  {
    echo "# leadhook dev stack (scripts/stack); shell-sourceable KEY='value' lines"
    for k in "${keys[@]}"; do
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

alive() { # leadhook|leadhook-I|nginx: is the process we started running? (pid + start time: a reused pid does not count)
  local k="${1^^}"
  k="${k//-/_}"
  local pid="${ST[${k}_PID]-}" start="${ST[${k}_PID_START]-}" now
  now="$(proc_start "$pid")" || return 1
  [[ -z "$start" || "$now" == "$start" ]]
}

any_leadhook_alive() {
  local i
  for ((i = 1; i <= $(instance_count); i++)); do
    alive "$(inst_name "$i")" && return 0
  done
  return 1
}

leadhook_logs() { # every instance's log file, one a line
  local i
  for ((i = 1; i <= $(instance_count); i++)); do echo "${ST[$(inst_key "$i")_LOG]-}"; done
}

wait_gone() { # leadhook|leadhook-I|nginx SECONDS
  local deadline=$((SECONDS + $2))
  while alive "$1"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# shellcheck disable=SC2016 # $1 belongs to the inner shell
port_in_use() { timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null; }

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

launch_leadhook() { # [I]: start instance I (default 1) with DIR/leadhook.env, on its own socket
  local i="${1:-1}" key name pidf exitf sock log deadline
  key="$(inst_key "$i")" name="$(inst_name "$i")"
  pidf="$DIR/$name.pid" exitf="$DIR/$name.exit" sock="${ST[${key}_SOCKET]}" log="${ST[${key}_LOG]}"
  rm -f "$pidf" "$exitf" "$sock"
  # A small parent in its own session runs leadhook and records its exit status.
  (
    cd "$DIR" || exit 1
    while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep '^LEADHOOK_' || true)
    # shellcheck source=/dev/null
    source "$DIR/leadhook.env"
    export LEADHOOK_LISTEN="unix:$sock"
    # shellcheck disable=SC2016 # $1.. belong to the inner shell
    exec setsid bash -c '"$1" serve & echo "$!" >"$2.tmp" && mv "$2.tmp" "$2"; wait "$!"
      echo "$?" >"$3.tmp" && mv "$3.tmp" "$3"' leadhook-launcher "${ST[LEADHOOK_BIN]}" "$pidf" "$exitf"
  ) </dev/null >>"$log" 2>&1 &
  deadline=$((SECONDS + 5))
  until [[ -s "$pidf" ]]; do
    ((SECONDS < deadline)) || die_log "$name did not start" "$log"
    sleep 0.05
  done
  ST[${key}_PID]="$(<"$pidf")"
  ST[${key}_PID_START]="$(proc_start "${ST[${key}_PID]}" || true)"
  save_state
  deadline=$((SECONDS + 20))
  until [[ -S "$sock" ]]; do
    alive "$name" ||
      die_log "$name exited at startup (status $(cat "$exitf" 2>/dev/null || echo '?'))" "$log"
    ((SECONDS < deadline)) || die_log "$name did not create $sock within 20 s" "$log"
    sleep 0.1
  done
}

launch_leadhooks() { # every instance
  local i
  for ((i = 1; i <= $(instance_count); i++)); do launch_leadhook "$i"; done
}

stop_leadhook() { # [I]: SIGTERM instance I (default 1); returns 3 when its exit status is not 0
  local i="${1:-1}" key name pid status n exitf
  key="$(inst_key "$i")" name="$(inst_name "$i")"
  pid="${ST[${key}_PID]-}" exitf="$DIR/$name.exit"
  if alive "$name"; then
    kill -TERM "$pid"
    if ! wait_gone "$name" 30; then
      leadhook_warn "$name (pid $pid) still running 30 s after SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      wait_gone "$name" 5 || true
    fi
    for ((n = 0; n < 50; n++)); do [[ -f "$exitf" ]] && break; sleep 0.1; done
  elif [[ ! -f "$exitf" ]]; then
    leadhook_say "$name was not running"
    return 0
  fi
  status="$(cat "$exitf" 2>/dev/null || echo unknown)"
  mv -f "$exitf" "$exitf.reported" 2>/dev/null || true
  leadhook_say "$name stopped (pid $pid, exit status $status)"
  [[ "$status" == 0 ]] || return 3
}

stop_leadhooks() { # every instance; returns 3 when any exit status was not 0
  local i rc=0
  for ((i = 1; i <= $(instance_count); i++)); do stop_leadhook "$i" || rc=$?; done
  return "$rc"
}

reload_leadhooks() { # WAIT_SECONDS: SIGHUP every instance, then wait for each to log a reload line
  local wait="$1" i name pid log rc=0 deadline
  local -a names=() logs=() sizes=()
  for ((i = 1; i <= $(instance_count); i++)); do
    name="$(inst_name "$i")" pid="${ST[$(inst_key "$i")_PID]-}" log="${ST[$(inst_key "$i")_LOG]-}"
    if ! alive "$name"; then
      leadhook_warn "$name is not running"
      rc=1
      continue
    fi
    names+=("$name") logs+=("$log") sizes+=("$(stat -c %s "$log" 2>/dev/null || echo 0)")
    kill -HUP "$pid"
  done
  ((${#names[@]} > 0)) || return 1
  leadhook_say "sent SIGHUP to ${names[*]}"
  ((wait > 0)) || return "$rc"
  # leadhook logs every reload, done or failed, with the word "reload".
  deadline=$((SECONDS + wait))
  for ((i = 0; i < ${#names[@]}; i++)); do
    until tail -c +"$((sizes[i] + 1))" "${logs[i]}" 2>/dev/null | grep -qi reload; do
      if ! alive "${names[i]}"; then
        leadhook_warn "${names[i]} exited after SIGHUP (see ${logs[i]})"
        rc=1
        break
      elif ((SECONDS >= deadline)); then
        leadhook_warn "${names[i]} logged no reload line within $wait s (see ${logs[i]})"
        rc=1
        break
      fi
      sleep 0.05
    done
  done
  return "$rc"
}

# ---- nginx ----
# shellcheck disable=SC2094 # the error log is only written, never read, here
start_nginx() {
  local prefix="${ST[LEADHOOK_RUNTIME_DIR]}/nginx" site="$DIR/leadhook-dev.conf"
  mkdir -p "$prefix"
  local sockets="" i
  for ((i = 1; i <= $(instance_count); i++)); do sockets+="${sockets:+ }${ST[$(inst_key "$i")_SOCKET]}"; done
  # A non-comment line with @LEADHOOK_SOCKET@ (the upstream's server line) is repeated per instance socket.
  awk -v port="${ST[LEADHOOK_HTTP_PORT]}" -v sockets="$sockets" '
    { gsub(/@HTTP_PORT@/, port) }
    /^[[:space:]]*[^#[:space:]].*@LEADHOOK_SOCKET@/ {
      n = split(sockets, s, " ")
      for (i = 1; i <= n; i++) { line = $0; gsub(/@LEADHOOK_SOCKET@/, s[i], line); print line }
      next
    }
    { split(sockets, s, " "); gsub(/@LEADHOOK_SOCKET@/, s[1]); print }' "$ROOT/deploy/nginx/leadhook-dev.conf" >"$site"
  # Its workers drop to an unprivileged user when root; all they touch is in the runtime dir.
  {
    echo "# generated by scripts/stack for $DIR"
    leadhook_nginx_conf "$DIR/nginx.pid" "${ST[NGINX_ERROR_LOG]}" "${ST[NGINX_ACCESS_LOG]}" "$prefix" "$site"
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
  local i
  local -a logs
  mapfile -t logs < <(leadhook_logs)
  until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
    for ((i = 1; i <= $(instance_count); i++)); do
      alive "$(inst_name "$i")" || die_log "$(inst_name "$i") exited" "${ST[$(inst_key "$i")_LOG]}"
    done
    alive nginx || die_log "nginx exited" "${ST[NGINX_ERROR_LOG]}"
    ((SECONDS < deadline)) ||
      die_log "no 200 from $url within 20 s" "${logs[@]}" "${ST[NGINX_ERROR_LOG]}" "${ST[NGINX_ACCESS_LOG]}"
    sleep 0.2
  done
}

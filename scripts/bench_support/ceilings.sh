# shellcheck shell=bash
# scripts/bench's ceilings (sourced by scripts/bench, whose globals it uses
# and sets: WORK, ROOT, KEY, THREADS, DURATION, RUNS, CONNECTIONS, DB, the
# ports, STATIC_PID / HMAC_PID / HMAC_NGINX_PID for its cleanup, RESULTS):
# nginx alone, the HMAC-only FastCGI responder behind an nginx like the
# stack's, pgbench with leadhook's write, and leadhook's batch write alone.

measure_ceilings() {
  leadhook_say "ceiling: nginx return 200 on port $STATIC_PORT"
  NGX="$WORK/nginx-static"
  mkdir -p "$NGX/tmp"
  chmod -R 0777 "$NGX/tmp"
  cat >"$NGX/nginx.conf" <<EOF
  $( ((EUID == 0)) && echo "user www-data $(id -gn www-data 2>/dev/null || echo nogroup);")
  worker_processes 1;
  pid "$NGX/nginx.pid";
  error_log "$NGX/error.log" warn;
  events { worker_connections 1024; }
  http {
      access_log "$NGX/access.log";
      client_body_temp_path "$NGX/tmp";
      server {
          listen 127.0.0.1:$STATIC_PORT;
          keepalive_requests 1000000;
          location / { return 200 "{\"status\":\"ok\"}"; }
      }
  }
EOF
  (exec setsid nginx -e "$NGX/error.log" -p "$NGX/" -c "$NGX/nginx.conf" -g 'daemon off;') </dev/null >>"$NGX/stderr.log" 2>&1 &
  STATIC_PID=$!
  for _ in $(seq 50); do curl -fsS -o /dev/null "http://127.0.0.1:$STATIC_PORT/" 2>/dev/null && break; sleep 0.1; done
  for c in $CONNECTIONS; do
    out="$(wrk -t "$((WRK_THREADS > c ? c : WRK_THREADS))" -c "$c" -d "${DURATION}s" --latency "http://127.0.0.1:$STATIC_PORT/")"
    rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
    to_us() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000; else if (v ~ /s$/) print n * 1e6; else print n }'; }
    p50="$(to_us "$(awk '$1 == "50%" {print $2}' <<<"$out")")"
    p99="$(to_us "$(awk '$1 == "99%" {print $2}' <<<"$out")")"
    printf '{"kind":"nginx","connections":%d,"rps":%s,"p50_us":%s,"p99_us":%s}\n' "$c" "$rps" "$p50" "$p99" >>"$RESULTS"
    leadhook_say "nginx static c=$c: $rps req/s"
  done
  kill -QUIT "$STATIC_PID" 2>/dev/null || true
  STATIC_PID=""

  # The HMAC-only ceiling: bench/hmac_responder.cpp on leadhook's own FastCGI
  # edge (same threads), behind an nginx built the way scripts/stack builds
  # leadhook's (1 worker, deploy/nginx/leadhook-dev.conf: its upstream keepalive,
  # fastcgi_keep_conn on, the same access log), posted the same kind of bodies
  # with the same connection counts and runs.
  leadhook_say "ceiling: HMAC-only FastCGI responder behind nginx on port $HMAC_PORT"
  HMD="$WORK/hmac"
  mkdir -p "$HMD"
  chmod 0755 "$HMD"
  (umask 077 && printf '%s\n' "$KEY" >"$HMD/key")
  HMAC_SOCKET="$HMD/hmac.sock"
  "$HMAC_BIN" --listen "unix:$HMAC_SOCKET" --socket-mode 0666 --key-file "$HMD/key" --threads "$THREADS" \
    </dev/null >"$HMD/responder.log" 2>&1 &
  HMAC_PID=$!
  awk -v port="$HMAC_PORT" -v sock="$HMAC_SOCKET" '{ gsub(/@HTTP_PORT@/, port); gsub(/@LEADHOOK_SOCKET@/, sock); print }' \
    "$ROOT/deploy/nginx/leadhook-dev.conf" >"$HMD/site.conf"
  leadhook_nginx_start "$HMD" "$HMD/site.conf"
  HMAC_NGINX_PID=$LEADHOOK_NGINX_PID
  HMAC_URL="http://127.0.0.1:$HMAC_PORT"
  for _ in $(seq 50); do curl -fsS -o /dev/null "$HMAC_URL/api/v1/health" 2>/dev/null && break; sleep 0.1; done
  curl -fsS -o /dev/null "$HMAC_URL/api/v1/health" ||
    { cat "$HMD/responder.log" "$HMD/nginx-error.log" >&2; leadhook_die "the HMAC-only responder does not answer"; }
  # A wrong signature must be refused, or the ceiling measures nothing.
  bad_status="$(curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    --data '{"signature":{"timestamp":"1700000000","token":"t","signature":"00"},"event-data":{}}' \
    "$HMAC_URL/api/v1/wh/mg/events")"
  [[ "$bad_status" == 406 ]] || leadhook_die "the HMAC-only responder answers $bad_status, not 406, to a wrong signature"
  leadhook_say "HMAC-only warm-up: 32 connections, 3 s"
  hmac_exhausted_before=$EXHAUSTED_TOTAL
  run_wrk hmac-warmup 32 3
  EXHAUSTED_TOTAL=$hmac_exhausted_before
  for c in $CONNECTIONS; do
    for ((r = 1; r <= RUNS; r++)); do
      leadhook_say "HMAC-only run $r/$RUNS: $c connections, $DURATION s"
      run_wrk hmac "$c" "$DURATION"
    done
  done
  kill -QUIT "$HMAC_NGINX_PID" 2>/dev/null || true
  HMAC_NGINX_PID=""
  kill -TERM "$HMAC_PID" 2>/dev/null || true
  wait "$HMAC_PID" 2>/dev/null || true
  HMAC_PID=""

  leadhook_say "ceiling: pgbench, the same write, 32 clients, $DURATION s"
  python3 "$SUPPORT/bench.py" pgbench-script --leads "$LEADS" >"$WORK/write.sql"
  pgout="$(pgbench -n -M prepared -c "$PGB_CLIENTS" -j "$NPROC" -T "$DURATION" -f "$WORK/write.sql" "$DB" 2>&1)" ||
    { printf '%s\n' "$pgout" >&2; leadhook_die "pgbench failed"; }
  tps="$(awk '/^tps = / {print $3; exit}' <<<"$pgout")"
  lat="$(awk '/^latency average = / {print $4; exit}' <<<"$pgout")"
  printf '{"kind":"pgbench","clients":%d,"tps":%s,"latency_ms":%s}\n' "$PGB_CLIENTS" "$tps" "$lat" >>"$RESULTS"
  leadhook_say "pgbench: $tps tps, latency avg $lat ms"

  # The database ceiling: leadhook's own batch write alone (bench/db_ceiling.cpp),
  # from events decoded in memory beforehand, with nothing else on the machine
  # busy. Once as leadhook batched at 64 connections (its writers, its mean
  # batch), once with larger batches on more connections.
  # leadhook's writers: what its last start-up line says it runs (config=...
  # writers=N), not a copy of the default.
  DB_WRITERS="$({ grep -oE '[" ]writers=[0-9]+' "$LEADHOOK_LOG" || true; } | tail -n 1 | cut -d= -f2)"
  DB_CONFIGS=("4 64 0")
  if ((BATCH_MEAN_64 > 0)) && [[ -n "$DB_WRITERS" ]]; then
    DB_CONFIGS=("$DB_WRITERS $BATCH_MEAN_64 1" "${DB_CONFIGS[@]}")
  else
    leadhook_warn "database ceiling: leadhook's own batching unknown (no 64-connection runs, or no writers= in $LEADHOOK_LOG)"
  fi
  for cfg in "${DB_CONFIGS[@]}"; do
    read -r writers batch as_leadhook <<<"$cfg"
    for ((r = 1; r <= RUNS; r++)); do
      SEQ=$((SEQ + 1))
      dir="$WORK/bodies-$SEQ"
      mkdir "$dir"
      python3 "$SUPPORT/bench.py" gen --key "$KEY" --leads "$LEADS" --count "$DB_CEILING_EVENTS" \
        --threads 1 --out "$dir" --seq "$SEQ" >"$dir/mix.json"
      leadhook_say "ceiling: leadhook's batch write alone, $writers writers, $batch events per transaction, run $r/$RUNS"
      dbout="$("$DB_CEILING_BIN" --database-url "$DB" --writers "$writers" --batch "$batch" "$dir/bodies.1" 2>&1)" ||
        { printf '%s\n' "$dbout" >&2; leadhook_die "leadhook_db_ceiling failed"; }
      rm -f "$dir"/bodies.*
      declare -gA D=()
      for kv in $dbout; do D[${kv%%=*}]="${kv#*=}"; done
      printf '{"kind":"db","writers":%d,"batch":%d,"as_leadhook":%d,"events":%d,"seconds":%s,"events_per_s":%s,"stored":%d}\n' \
        "$writers" "$batch" "$as_leadhook" "${D[events]}" "${D[seconds]}" "${D[events_per_s]}" "${D[stored]}" >>"$RESULTS"
      leadhook_say "database ceiling: ${D[events_per_s]} events/s (${D[stored]} of ${D[events]} stored)"
    done
  done
}

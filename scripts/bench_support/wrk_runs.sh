# shellcheck shell=bash
# scripts/bench's load runs (sourced by scripts/bench, whose globals they use
# and set: WORK, SUPPORT, KEY, LEADS, SDIR, RESULTS, SEQ, BEST_RPS, the
# correctness counters, LHPID and the stack's stack.env variables).
#
#   run_wrk KIND CONNECTIONS SECONDS [POOL_PERCENT]  one wrk run, its JSON line
#   counts                 events, payloads, tokens in leadhook's database
#   cpu_snapshot PID NGINX CPU ticks of the server, PostgreSQL, nginx, wrk, machine
#   batch_totals           "sum count" of leadhook's batch sizes (its metrics)
#   use_leadhook BIN THREADS [ENV]  restart the stack's leadhook as BIN

counts() { # events payloads tokens
  sql -F' ' -c "SELECT (SELECT count(*) FROM lead_email_events), (SELECT count(*) FROM lead_email_event_payloads), (SELECT count(*) FROM webhook_tokens)"
}
CLOCK_TICKS="$(getconf CLK_TCK)"
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# CPU time (user + system, in clock ticks) for the per-request CPU budget.
# ticks_of PID...: those processes and their live children (nginx workers,
# PostgreSQL backends), plus what their children that exited had used.
ticks_of() {
  local pids=() p
  for p in "$@"; do
    [[ -n "$p" && -d "/proc/$p" ]] || continue
    pids+=("$p")
    mapfile -t -O "${#pids[@]}" pids < <(ps -o pid= --ppid "$p" 2>/dev/null | tr -d ' ')
  done
  ((${#pids[@]})) || { echo 0; return; }
  # Fields after "pid (comm) ": utime stime cutime cstime are the 12th to 15th.
  for p in "${pids[@]}"; do sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null || true; done |
    awk '{ t += $12 + $13 + $14 + $15 } END { printf "%d\n", t }'
}
# The main shell's waited-for children: wrk, once it has exited, and the
# subshell of the snapshot taken before it (a few ms per run). $$, not
# $BASHPID, which would be the command substitution's own subshell.
shell_children_ticks() { sed 's/^.*) //' "/proc/$$/stat" | awk '{ printf "%d\n", $14 + $15 }'; }
# "busy idle" ticks of the whole machine (idle includes iowait).
machine_ticks() { awk '$1 == "cpu" { printf "%d %d\n", $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat; }
postmaster_pid() { # empty for an external database
  if [[ -n "${PG_DATA:-}" ]]; then head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null || true; fi
}
# cpu_snapshot SERVER_PID NGINX_PID: "server postgres nginx wrk busy idle" ticks.
cpu_snapshot() {
  echo "$(ticks_of "$1") $(ticks_of "$(postmaster_pid)") $(ticks_of "$2") $(shell_children_ticks) $(machine_ticks)"
}

# Which server a kind posts to: leadhook (counted by the correctness check),
# the HMAC-only responder, or the original app (checked in its own database).
server_of() { case "$1" in hmac*) echo hmac ;; peer*) echo peer ;; *) echo leadhook ;; esac; }
# Each group sizes its pools from its own fastest run: leadhook's JSON runs,
# leadhook's form runs (the first sized from the JSON runs), the responder,
# the original app (a few hundred requests/s: its pools sized for at least
# 2000).
declare -A BEST_RPS=([leadhook]=0 [form]=0 [hmac]=0 [peer]=0)
group_of() { case "$1" in hmac*) echo hmac ;; peer*) echo peer ;; *form*) echo form ;; *) echo leadhook ;; esac; }
RUN_SUCCESS=0 RUN_NON2XX=0 # the last run's

# run_wrk KIND CONNECTIONS SECONDS [POOL_PERCENT]: one wrk run with a fresh
# body pool of (fastest run so far x SECONDS x POOL_PERCENT/100 + 2000)
# bodies (default 200 %). Kinds: warmup, leadhook, idle, soak and the
# --compare-rev sides post JSON bodies to leadhook; leadhook-form posts legacy
# form `delivered` bodies to leadhook, peer-warmup and peer the same kind to
# the original app; hmac-warmup and hmac JSON to the HMAC-only responder.
# VmRSS of the process behind (leadhook, the responder, gunicorn's master) is
# sampled every 0.5 s for the peak and every 5 s for a series (the soak
# reports it).
run_wrk() {
  local kind="$1" conns="$2" secs="$3" pct="${4:-200}" pool dir res group server url pid
  local threads=$((WRK_THREADS > conns ? conns : WRK_THREADS))
  group="$(group_of "$kind")" server="$(server_of "$kind")"
  local nginx_pid="${NGINX_PID:-}" # the stack's, from stack.env
  case "$server" in
    hmac) url="$HMAC_URL" pid="$HMAC_PID" nginx_pid="$HMAC_NGINX_PID" ;;
    peer) url="$PEER_URL" pid="$PEER_PID" nginx_pid="$PEER_NGINX_PID" ;;
    *) url="$LEADHOOK_HTTP_URL" pid="$LHPID" ;;
  esac
  local -a gen_form=() wrk_env=()
  if [[ "$group" == peer || "$group" == form ]]; then
    gen_form=(--form-delivered)
    wrk_env=(BENCH_PATH=/api/v1/wh/mg/lead/email/delivered BENCH_CONTENT_TYPE=application/x-www-form-urlencoded)
  fi
  SEQ=$((SEQ + 1))
  local rate=$((BEST_RPS[$group] > 0 ? BEST_RPS[$group] : RPS_GUESS))
  [[ "$group" != peer ]] || rate=$((BEST_RPS[peer] > 2000 ? BEST_RPS[peer] : 2000))
  # leadhook's first form run: at least as fast as its JSON runs were.
  if [[ "$group" == form ]] && ((BEST_RPS[form] == 0 && BEST_RPS[leadhook] > rate)); then rate=${BEST_RPS[leadhook]}; fi
  pool=$((rate * secs * pct / 100 + 2000))
  dir="$WORK/bodies-$SEQ"
  mkdir "$dir"
  python3 "$SUPPORT/bench.py" gen --key "$KEY" --leads "$LEADS" --count "$pool" \
    --threads "$threads" --out "$dir" --seq "$SEQ" "${gen_form[@]}" >"$dir/mix.json"
  local before=(0 0 0) after=(0 0 0)
  [[ "$server" == leadhook ]] && read -r -a before <<<"$(counts)"
  [[ "$server" == peer ]] && read -r -a before <<<"$(peer_counts)"
  res="$dir/wrk.result"
  local peak_file="$dir/peak" series_file="$dir/rss.series"
  echo 0 >"$peak_file"
  : >"$series_file"
  (
    peak=0 start="${EPOCHREALTIME/[.,]/}" next=0
    while :; do
      r="$(rss_kib "$pid")"
      ((r > peak)) && peak=$r && echo "$peak" >"$peak_file"
      now="${EPOCHREALTIME/[.,]/}"
      if (((now - start) / 1000000 >= next)); then
        echo "$next $r" >>"$series_file"
        next=$((next + 5))
      fi
      sleep 0.5
    done
  ) &
  SAMPLER_PID=$!
  local cpu_before cpu_after
  cpu_before="$(cpu_snapshot "$pid" "$nginx_pid")"
  env "${wrk_env[@]}" BENCH_RESULT_FILE="$res" BENCH_DELAY_MS="${BENCH_DELAY_MS:-0}" wrk -t "$threads" -c "$conns" -d "${secs}s" --timeout 10s --latency \
    -s "$SUPPORT/bench.lua" "$url" -- "$dir" >"$dir/wrk.out" 2>&1 ||
    { cat "$dir/wrk.out" >&2; leadhook_die "wrk failed"; }
  cpu_after="$(cpu_snapshot "$pid" "$nginx_pid")"
  local end_rss
  end_rss="$(rss_kib "$pid")"
  kill "$SAMPLER_PID" 2>/dev/null || true
  wait "$SAMPLER_PID" 2>/dev/null || true
  SAMPLER_PID=""
  echo "$secs $end_rss" >>"$series_file"
  [[ "$server" == leadhook ]] && read -r -a after <<<"$(counts)"
  [[ "$server" == peer ]] && read -r -a after <<<"$(peer_counts)"
  local -A R
  while IFS='=' read -r k v; do R[$k]="$v"; done <"$res"
  local rps answered
  answered=$((R[success] + R[unmatched] + R[duplicate] + R[other200] + R[non2xx]))
  rps="$(awk -v n="${R[requests]}" -v d="${R[duration_us]}" 'BEGIN {printf "%.1f", n / (d / 1e6)}')"
  if [[ "$server" == leadhook ]]; then
    ANSWERED_STORED=$((ANSWERED_STORED + R[success] + R[unmatched]))
    DUPLICATES=$((DUPLICATES + R[duplicate]))
    SENT_MINUS_REFUSED=$((SENT_MINUS_REFUSED + R[sent] - R[non2xx]))
  elif [[ "$server" == peer ]]; then
    PEER_STORED=$((PEER_STORED + R[success]))
    PEER_SENT_MINUS_REFUSED=$((PEER_SENT_MINUS_REFUSED + R[sent] - R[non2xx]))
  fi
  RUN_SUCCESS=${R[success]} RUN_NON2XX=${R[non2xx]}
  local ev=$((after[0] - before[0])) rows=$((after[0] + after[1] + after[2] - before[0] - before[1] - before[2]))
  local req="${R[sent]}"
  ((req > 0)) || req=1
  local series
  series="$(awk 'BEGIN {printf "["} {printf "%s[%d,%d]", (NR > 1 ? "," : ""), $1, $2} END {printf "]"}' "$series_file")"
  printf '{"kind":"%s","connections":%d,"seconds":%d,"seq":%d,"rps":%s,"p50_us":%s,"p99_us":%s,"non2xx":%d,"socket_errors":%d,"requests":%d,"sent":%d,"success":%d,"unmatched":%d,"duplicate":%d,"other200":%d,"exhausted":%d,"pool":%d,"events_per_request":%s,"rows_per_request":%s,"peak_rss_kib":%d,"rss_series":%s,"cpu_before":[%s],"cpu_after":[%s],"clock_ticks":%d,"mix":%s}\n' \
    "$kind" "$conns" "$secs" "$SEQ" "$rps" "${R[p50_us]}" "${R[p99_us]}" "${R[non2xx]}" "${R[socket_errors]}" \
    "${R[requests]}" "${R[sent]}" "${R[success]}" "${R[unmatched]}" "${R[duplicate]}" "${R[other200]}" "${R[exhausted]}" "$pool" \
    "$(awk -v a="$ev" -v b="$req" 'BEGIN {printf "%.4f", a / b}')" \
    "$(awk -v a="$rows" -v b="$req" 'BEGIN {printf "%.4f", a / b}')" \
    "$(cat "$peak_file")" "$series" "${cpu_before// /,}" "${cpu_after// /,}" "$CLOCK_TICKS" \
    "$(cat "$dir/mix.json")" >>"$RESULTS.$kind"
  [[ "$kind" != *warmup ]] && tail -n1 "$RESULTS.$kind" >>"$RESULTS"
  local r=${rps%.*}
  ((r > BEST_RPS[$group])) && BEST_RPS[$group]=$r
  EXHAUSTED_TOTAL=$((EXHAUSTED_TOTAL + R[exhausted]))
  if [[ "$server" != hmac ]]; then
    leadhook_say "$kind c=$conns: $rps req/s, p50 $((R[p50_us] / 1000)) ms, p99 $((R[p99_us] / 1000)) ms, non-2xx ${R[non2xx]}, stored $ev, exhausted ${R[exhausted]} (answered $answered)"
  else
    leadhook_say "$kind c=$conns: $rps req/s, p50 $((R[p50_us] / 1000)) ms, p99 $((R[p99_us] / 1000)) ms, verified ${R[other200]}, non-2xx ${R[non2xx]}, exhausted ${R[exhausted]}"
  fi
  rm -f "$dir"/bodies.*
}

# "sum count" of leadhook's batch sizes so far (its metrics).
batch_totals() {
  curl -fsS "$LEADHOOK_HTTP_URL/api/v1/metrics" | awk '
    $1 == "leadhook_database_batch_events_sum" { s = $2 }
    $1 == "leadhook_database_batch_events_count" { n = $2 }
    END { printf "%d %d\n", s, n }'
}

# Restarts the stack's leadhook as BINARY with THREADS workers and the
# settings ENV (NAME=VALUE ..., or none), same database.
use_leadhook() {
  local binary="$1" threads="$2" env="${3:-}" setting
  sed -i '/^export LEADHOOK_THREADS=/d; /# --compare-env$/d' "$SDIR/leadhook.env"
  echo "export LEADHOOK_THREADS=$threads" >>"$SDIR/leadhook.env"
  for setting in $env; do
    echo "export $(printf '%q' "$setting") # --compare-env" >>"$SDIR/leadhook.env"
  done
  "$ROOT/scripts/stack" leadhook-restart --dir "$SDIR" --bin "$binary" >/dev/null ||
    leadhook_die "leadhook restart failed"
  # shellcheck disable=SC1091
  source "$SDIR/stack.env"
  LHPID="$LEADHOOK_PID"
  [[ "$(readlink -f "/proc/$LHPID/exe")" == "$(readlink -f "$binary")" ]] ||
    leadhook_die "the restarted leadhook is not $binary"
}

#!/usr/bin/env bash
# Checks the systemd units in deploy/systemd/: `systemd-analyze verify`
# accepts leadhook.socket, leadhook.service and the purge and backfill timers
# and services,
# and `systemd-analyze security --offline=yes` rates each service's exposure
# at 1.5 or lower. Also that the drain timeout and TimeoutStopSec agree, that
# leadhook.service bounds its memory, tasks and descriptors, and the socket is
# the one nginx uses.
# verify needs ExecStart's binary to exist, so a temporary copy of the units
# points at LEADHOOK_BIN (the built binary) instead of /usr/local/bin/leadhook.
# Usage: LEADHOOK_BIN=build/src/leadhook bash tests/integration/test_systemd_units.sh
set -euo pipefail

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,9p' "$0"
  exit 0
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
UNITS="$ROOT/deploy/systemd"
BIN="${LEADHOOK_BIN:-$ROOT/build/src/leadhook}"
MAX_EXPOSURE="1.5"
INSTALLED_BIN="/usr/local/bin/leadhook"

die() { echo "leadhook: error: $*" >&2; exit 1; }
command -v systemd-analyze >/dev/null || die "systemd-analyze not found (apt-get install systemd)"
[[ -x "$BIN" ]] || die "leadhook binary not found: $BIN (build first, or set LEADHOOK_BIN)"
BIN="$(realpath "$BIN")" # ExecStart= takes absolute paths only

TMP="$(mktemp -d "${TMPDIR:-/tmp}/leadhook-systemd-test.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

failed=0
fail() { echo "FAIL $*" >&2; failed=$((failed + 1)); }
ok() { echo "ok   $*"; }

# The shipped unit must name the path `cmake --install` uses (CMAKE_INSTALL_PREFIX
# /usr/local, install(TARGETS leadhook RUNTIME DESTINATION bin)).
grep -q "^ExecStart=$INSTALLED_BIN serve " "$UNITS/leadhook.service" ||
  fail "leadhook.service: ExecStart does not run $INSTALLED_BIN serve"
grep -q "^ExecStart=$INSTALLED_BIN purge " "$UNITS/leadhook-purge.service" ||
  fail "leadhook-purge.service: ExecStart does not run $INSTALLED_BIN purge"
grep -q "^ExecStart=$INSTALLED_BIN backfill .*--api-key-file %d/mailgun-api-key" \
  "$UNITS/leadhook-backfill.service" ||
  fail "leadhook-backfill.service: ExecStart does not run $INSTALLED_BIN backfill with the credential"
# Off by default: nothing in the repository enables the backfill timer.
if grep -rq "enable.*leadhook-backfill" "$ROOT/scripts" "$ROOT/deploy" --include='*' \
  --exclude=leadhook-backfill.timer; then
  fail "something enables leadhook-backfill.timer; it is documented, off by default"
fi

# ExecReload= runs leadhook-reload where `cmake --install` puts it.
INSTALLED_RELOAD="/usr/local/libexec/leadhook-reload"
grep -q "^ExecReload=+$INSTALLED_RELOAD %n \$MAINPID$" "$UNITS/leadhook.service" ||
  fail "leadhook.service: ExecReload does not run +$INSTALLED_RELOAD %n \$MAINPID"

UNIT_FILES=(leadhook.socket leadhook.service leadhook-purge.service leadhook-purge.timer
  leadhook-backfill.service leadhook-backfill.timer)
for unit in "${UNIT_FILES[@]}"; do
  sed -e "s|$INSTALLED_BIN|$BIN|g" -e "s|$INSTALLED_RELOAD|$UNITS/leadhook-reload|g" \
    "$UNITS/$unit" >"$TMP/$unit"
done

# verify prints problems on stderr but exits 0 for some of them (unknown
# keys, bad specifiers); any output at all is a failure.
if (cd "$TMP" && systemd-analyze verify "${UNIT_FILES[@]}") >"$TMP/verify.log" 2>&1 &&
  [[ ! -s "$TMP/verify.log" ]]; then
  ok "systemd-analyze verify accepts ${UNIT_FILES[*]}"
else
  fail "systemd-analyze verify:"
  cat "$TMP/verify.log" >&2
fi

check_security() {
  local service="$1" log="$TMP/security-$1.log" score
  if ! systemd-analyze security --offline=yes --no-pager "$TMP/$service" >"$log" 2>&1; then
    fail "systemd-analyze security --offline=yes $service failed:"
    cat "$log" >&2
    return
  fi
  score="$(sed -n "s/.*Overall exposure level for ${service//./\\.}: \([0-9][0-9]*\.[0-9]\).*/\1/p" "$log")"
  if [[ -z "$score" ]]; then
    fail "no exposure score for $service in systemd-analyze security's output:"
    tail -5 "$log" >&2
  elif awk -v s="$score" -v max="$MAX_EXPOSURE" 'BEGIN { exit !(s <= max) }'; then
    ok "systemd-analyze security: $service exposure $score (at most $MAX_EXPOSURE)"
  else
    fail "systemd-analyze security: $service exposure $score, above $MAX_EXPOSURE:"
    grep '✗' "$log" >&2 || cat "$log" >&2
  fi
}
check_security leadhook.service
check_security leadhook-purge.service
check_security leadhook-backfill.service

# Memory, tasks and descriptors are bounded (sized in the unit's comments).
for limit in MemoryHigh MemoryMax TasksMax LimitNOFILE; do
  value="$(sed -n "s/^$limit=\(.*\)$/\1/p" "$UNITS/leadhook.service")"
  if [[ "$value" =~ ^[0-9]+[KMG]?$ ]]; then
    ok "leadhook.service sets $limit=$value"
  else
    fail "leadhook.service must set $limit to a number (got '$value')"
  fi
done

# TimeoutStopSec must leave leadhook time to drain (drain_timeout_seconds,
# default 30) and to report an abandoned drain itself before SIGKILL.
stop_timeout="$(sed -n 's/^TimeoutStopSec=\([0-9][0-9]*\)s\{0,1\}$/\1/p' "$UNITS/leadhook.service")"
drain_default="$(sed -n 's/^drain_timeout_seconds = \([0-9][0-9]*\)$/\1/p' "$ROOT/deploy/leadhook.toml.example")"
if [[ -n "$stop_timeout" && -n "$drain_default" ]] && ((stop_timeout > drain_default)); then
  ok "TimeoutStopSec=${stop_timeout}s is longer than drain_timeout_seconds = $drain_default"
else
  fail "TimeoutStopSec ('${stop_timeout}') must be a number of seconds above drain_timeout_seconds ('${drain_default}')"
fi

socket_path="$(sed -n 's/^ListenStream=//p' "$UNITS/leadhook.socket")"
if grep -q "server unix:$socket_path;" "$ROOT/deploy/nginx/leadhook.conf"; then
  ok "nginx's upstream is the socket leadhook.socket listens on ($socket_path)"
else
  fail "deploy/nginx/leadhook.conf does not use ListenStream=$socket_path"
fi

if ((failed)); then
  echo "systemd units: $failed check(s) failed" >&2
  exit 1
fi
echo "systemd units: all checks passed"

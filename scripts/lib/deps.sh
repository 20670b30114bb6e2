# shellcheck shell=bash
# Shared helpers for leadhook's scripts: source this file, don't run it.
#
#   leadhook_install_deps [PKG..]  install the Debian packages that are missing
#                                   (LEADHOOK_PACKAGES, and PKG.. when given)
#   leadhook_build [DIR] [-DX=Y..]  configure (once, or again when -D args are
#                                   given) and build with -j$(nproc)
#   leadhook_build_server [DIR]     build only the leadhook binary (configured
#                                   without the tests when DIR is new)
#   leadhook_stack_setting DIR KEY  a value of a running stack's DIR/stack.env
#   leadhook_clang_tidy DIR [JOBS]  clang-tidy (.clang-tidy) over src/**/*.cpp
#                                   with DIR/compile_commands.json
#   leadhook_nginx_conf PID ERR ACCESS TEMP SITE
#                                   the main config of a private nginx (1 worker,
#                                   unprivileged workers when root, the access
#                                   log format every stack uses) including SITE
#   leadhook_nginx_start DIR SITE   start such an nginx with its files in DIR;
#                                   sets LEADHOOK_NGINX_PID
#   leadhook_say / leadhook_die     messages prefixed "leadhook:"
#
# LEADHOOK_ROOT is set to the repository root, found from this file's path.

LEADHOOK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"

# nginx, runuser and friends live in /usr/sbin, which a non-root PATH may lack.
case ":$PATH:" in
  *:/usr/sbin:*) ;;
  *) PATH="$PATH:/usr/sbin:/sbin" ;;
esac

# What building leadhook and serving with the dev stack need (Debian 12
# names): ./scripts/run installs these and nothing else.
LEADHOOK_PACKAGES=(
  build-essential cmake pkg-config
  libfcgi-bin libssl-dev openssl libpq-dev libsystemd-dev # cgi-fcgi: scripts/replay --fcgi
  postgresql postgresql-contrib
  nlohmann-json3-dev libtomlplusplus-dev libcli11-dev prometheus-cpp-dev
  libcurl4-openssl-dev # leadhook backfill: Mailgun's API over HTTPS
  libgoogle-perftools-dev # tcmalloc (libtcmalloc_minimal), leadhook's allocator
  nginx-light curl python3 ca-certificates
)
# What the leadhook binary links at run time: what a server that runs a
# binary built elsewhere needs (scripts/systemd-test's container has these).
# shellcheck disable=SC2034 # used by the scripts that source this file
LEADHOOK_RUNTIME_PACKAGES=(
  libpq5 libssl3 libsystemd0 libtomlplusplus3 libprometheus-cpp-core1.0 libtcmalloc-minimal4
  libcurl4
)
# What the tests need on top (./scripts/test): Boost.Test, clang-format for
# style.clang_format, systemd's tools for the unit tests of deploy/systemd
# and, for scripts/systemd-test, debootstrap and systemd-nspawn,
# chromium to render the HTML report (scripts/demo-report too), the
# original app's database moved from MySQL (docs/migrating.md), and
# pg_auto_failover for scripts/ha-test (docs/ha.md).
# shellcheck disable=SC2034 # used by the scripts that source this file
LEADHOOK_TEST_PACKAGES=(
  libboost-test-dev clang-format systemd debootstrap systemd-container
  chromium fonts-dejavu-core
  python3-sqlalchemy mariadb-server pgloader
  postgresql-15-auto-failover pg-auto-failover-cli
)

# Leads whose open and click counters differ from their stored opened and
# clicked events: what a lost or doubled event leaves behind (scripts/bench
# and scripts/ha-test check it after their runs).
# shellcheck disable=SC2034 # used by the scripts that source this file
LEADHOOK_SQL_COUNTER_MISMATCHES="SELECT count(*) FROM leads l LEFT JOIN (
    SELECT lead_id, count(*) FILTER (WHERE event_type = 'opened') o,
           count(*) FILTER (WHERE event_type = 'clicked') c
    FROM lead_email_events GROUP BY lead_id) e ON e.lead_id = l.id
  WHERE l.followup_email_opens <> coalesce(e.o, 0) OR l.followup_email_clicks <> coalesce(e.c, 0)"

# Debian's invoke-rc.d asks this file whether a package may start its service.
LEADHOOK_POLICY_RC_D="${LEADHOOK_POLICY_RC_D:-/usr/sbin/policy-rc.d}"

leadhook_say() { printf 'leadhook: %s\n' "$*"; }

# The main configuration of a private nginx, on stdout: its pid file, error
# and access logs, temp files under TEMP, and the server blocks in SITE.
leadhook_nginx_conf() { # PID_FILE ERROR_LOG ACCESS_LOG TEMP_DIR SITE_FILE
  local features worker mod
  features="$(nginx -V 2>&1)"
  if ((EUID == 0)); then # workers drop to an unprivileged user
    worker=www-data
    getent passwd "$worker" >/dev/null || worker=nobody
    echo "user $worker $(id -gn "$worker");"
  fi
  echo "worker_processes 1;"
  echo "pid \"$1\";"
  echo "error_log \"$2\" warn;"
  echo "events { worker_connections 256; }"
  echo "http {"
  echo "    default_type application/octet-stream;"
  echo "    server_tokens off;"
  echo "    log_format leadhook '\$remote_addr [\$time_local] \"\$request\" \$status \$body_bytes_sent \$request_time req=\$request_id';"
  echo "    access_log \"$3\" leadhook;"
  for mod in client_body fastcgi proxy scgi uwsgi; do
    [[ "$features" == *"without-http_${mod}_module"* ]] || echo "    ${mod}_temp_path \"$4/$mod\";"
  done
  echo "    include \"$5\";"
  echo "}"
}

# Starts a private nginx serving SITE_FILE, in a session of its own, with
# its config, pid file and logs in DIR (nginx.conf, nginx.pid,
# nginx-error.log, nginx-access.log, nginx-stderr.log) and its temp files
# in DIR/nginx/; dies when nginx rejects the config. Sets LEADHOOK_NGINX_PID.
leadhook_nginx_start() { # DIR SITE_FILE
  local dir="$1"
  mkdir -p "$dir/nginx"
  leadhook_nginx_conf "$dir/nginx.pid" "$dir/nginx-error.log" "$dir/nginx-access.log" "$dir/nginx" "$2" \
    >"$dir/nginx.conf"
  nginx -t -q -e "$dir/nginx-error.log" -p "$dir/nginx/" -c "$dir/nginx.conf" </dev/null >>"$dir/nginx-stderr.log" 2>&1 ||
    { cat "$dir/nginx-error.log" "$dir/nginx-stderr.log" >&2; leadhook_die "nginx rejects $dir/nginx.conf"; }
  (exec setsid nginx -e "$dir/nginx-error.log" -p "$dir/nginx/" -c "$dir/nginx.conf" -g 'daemon off;') \
    </dev/null >>"$dir/nginx-stderr.log" 2>&1 &
  # shellcheck disable=SC2034 # read by the scripts that call this
  LEADHOOK_NGINX_PID=$!
}
leadhook_warn() { printf 'leadhook: %s\n' "$*" >&2; }
leadhook_die() {
  printf 'leadhook: error: %s\n' "$*" >&2
  exit 1
}

# Prints the names (one a line) of LEADHOOK_PACKAGES and of its arguments
# that are not installed.
leadhook_missing_packages() {
  local pkg status
  for pkg in "${LEADHOOK_PACKAGES[@]}" "$@"; do
    status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
    [[ "$status" == installed ]] || printf '%s\n' "$pkg"
  done
}

# Installs the missing packages (as root), or tells how to (otherwise: exit 1):
# LEADHOOK_PACKAGES, and the arguments (a script's own extras, e.g. wrk).
# While apt runs, a temporary policy-rc.d keeps the packages' maintainer
# scripts from starting the machine's own nginx and PostgreSQL services.
leadhook_install_deps() {
  local -a missing
  command -v dpkg-query >/dev/null 2>&1 ||
    leadhook_die "dpkg-query not found: this needs Debian 12 (or install the packages listed in scripts/lib/deps.sh yourself)"
  mapfile -t missing < <(leadhook_missing_packages "$@")
  if ((${#missing[@]} == 0)); then
    leadhook_say "all build dependencies present"
    return 0
  fi
  if ((EUID != 0)); then
    leadhook_warn "missing packages: ${missing[*]}"
    leadhook_warn "install them with:"
    printf '  sudo apt-get install -y --no-install-recommends %s\n' "${missing[*]}" >&2
    exit 1
  fi
  leadhook_say "installing ${#missing[@]} missing packages: ${missing[*]}"
  # A subshell, so its traps remove our policy-rc.d on success, failure and
  # signals without disturbing the caller's traps.
  (
    trap 'exit 130' INT
    trap 'exit 143' TERM
    if [[ ! -e "$LEADHOOK_POLICY_RC_D" ]]; then
      trap 'rm -f "$LEADHOOK_POLICY_RC_D"' EXIT
      printf '#!/bin/sh\n# temporary, from leadhook scripts/lib/deps.sh\nexit 101\n' >"$LEADHOOK_POLICY_RC_D"
      chmod 0755 "$LEADHOOK_POLICY_RC_D"
    fi
    export DEBIAN_FRONTEND=noninteractive
    # (set -e is off inside "( ) ||", hence the &&)
    apt-get update && apt-get install -y --no-install-recommends "${missing[@]}"
  ) || leadhook_die "apt-get failed (see above)"
  mapfile -t missing < <(leadhook_missing_packages "$@")
  ((${#missing[@]} == 0)) || leadhook_die "still missing after apt-get install: ${missing[*]}"
  leadhook_say "dependencies installed"
}

# leadhook_build [BUILD_DIR] [CMAKE_ARGS...]: configures BUILD_DIR when it has
# no Makefile yet (never configured, or a configure that failed) or when
# CMAKE_ARGS are given, then builds everything.
# Warnings are errors unless the cache says LEADHOOK_WERROR=OFF.
leadhook_build() {
  local build_dir="${1:-$LEADHOOK_ROOT/build}"
  if (($# > 0)); then shift; fi
  if [[ ! -f "$build_dir/Makefile" ]] || (($# > 0)); then
    leadhook_configure "$build_dir" "$@"
  fi
  leadhook_compile "$build_dir"
}

# leadhook_build_server [BUILD_DIR]: the binary alone, for ./scripts/run and
# the tools around the dev stack. A new build dir is configured without the
# tests (no Boost.Test needed); ./scripts/test turns them on in the same dir.
leadhook_build_server() {
  local build_dir="${1:-$LEADHOOK_ROOT/build}"
  if [[ ! -f "$build_dir/Makefile" ]]; then
    leadhook_configure "$build_dir" -DLEADHOOK_TESTS=OFF
  fi
  leadhook_compile "$build_dir" leadhook
}

leadhook_configure() { # BUILD_DIR [CMAKE_ARGS...]
  local build_dir="$1"
  shift
  leadhook_say "configuring $build_dir${*:+ ($*)}"
  cmake -S "$LEADHOOK_ROOT" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" ||
    leadhook_die "cmake configure failed"
}

leadhook_compile() { # BUILD_DIR [TARGET]
  local build_dir="$1" jobs
  local -a target=()
  [[ -z "${2:-}" ]] || target=(--target "$2")
  jobs="$(nproc 2>/dev/null || echo 2)"
  leadhook_say "building ${2:-everything} in $build_dir with -j$jobs"
  cmake --build "$build_dir" "${target[@]}" -j"$jobs" || leadhook_die "build failed"
  leadhook_say "build done: $build_dir/src/leadhook"
}

# leadhook_stack_setting DIR KEY: one value of a stack's DIR/stack.env
# (scripts/stack writes KEY='value' lines); empty when there is none.
leadhook_stack_setting() {
  sed -n "s/^$2='\(.*\)'$/\1/p" "$1/stack.env" 2>/dev/null || true
}

# leadhook_clang_tidy BUILD_DIR [JOBS]: runs clang-tidy with the repository's
# .clang-tidy over every src/**/*.cpp in BUILD_DIR/compile_commands.json (not
# the generated migrations_embedded.cpp, not tests/), JOBS at a time (default
# 2): run-clang-tidy when installed, else xargs -P. Non-zero on any finding.
leadhook_clang_tidy() {
  local build_dir="$1" jobs="${2:-2}" db runner
  db="$build_dir/compile_commands.json"
  [[ -f "$db" ]] || leadhook_die "$db not found (configure $build_dir first)"
  command -v clang-tidy >/dev/null ||
    leadhook_die "clang-tidy not found (./scripts/test --tidy installs it: Debian's clang-tidy)"
  local -a files
  mapfile -t files < <(python3 - "$db" "$LEADHOOK_ROOT/src" <<'EOF_PY'
import json, os, sys
db, src = sys.argv[1], os.path.realpath(sys.argv[2]) + "/"
seen = set()
for entry in json.load(open(db)):
    path = os.path.realpath(os.path.join(entry["directory"], entry["file"]))
    if path.startswith(src) and path.endswith(".cpp") and path not in seen:
        seen.add(path)
        print(path)
EOF_PY
  )
  ((${#files[@]} > 0)) || leadhook_die "no src/ files in $db"
  leadhook_say "clang-tidy $(clang-tidy --version | sed -n 's/.*LLVM version //p'): ${#files[@]} files"
  # Extra compiler arguments (gcc's flags, the analyzer's mode) are in .clang-tidy.
  runner="$(command -v run-clang-tidy || command -v run-clang-tidy-14 || true)"
  if [[ -n "$runner" ]]; then
    # Its file arguments are regexes: anchor each path.
    local -a patterns=()
    local f
    for f in "${files[@]}"; do patterns+=("^$(printf '%s' "$f" | sed 's/[][\.*^$+?(){}|]/\\&/g')\$"); done
    "$runner" -quiet -j "$jobs" -p "$build_dir" "${patterns[@]}"
  else
    printf '%s\0' "${files[@]}" |
      xargs -0 -n 4 -P "$jobs" clang-tidy --quiet -p "$build_dir"
  fi
}

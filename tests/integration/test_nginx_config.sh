#!/usr/bin/env bash
# Checks that both nginx snippets in deploy/nginx/ pass `nginx -t`: the
# production site (with a throwaway self-signed certificate; and with the
# several-hosts upstream of deploy/ha/) and the dev site
# (with one and with two leadhook sockets in its upstream), each included from
# a minimal http {} block in a temporary prefix; and that both keep their
# FastCGI connections alive (upstream keepalive, fastcgi_keep_conn on).
# Usage: bash tests/integration/test_nginx_config.sh   (exit 0: all pass)
set -euo pipefail

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,7p' "$0"
  exit 0
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
NGINX="${NGINX:-$(PATH="$PATH:/usr/sbin:/sbin" command -v nginx || true)}"
[[ -x "$NGINX" ]] || { echo "leadhook: error: nginx not found (apt-get install nginx-light)" >&2; exit 1; }
command -v openssl >/dev/null || { echo "leadhook: error: openssl not found" >&2; exit 1; }

TMP="$(mktemp -d "${TMPDIR:-/tmp}/leadhook-nginx-test.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=leadhook.test" \
  -keyout "$TMP/test.key" -out "$TMP/test.crt" 2>"$TMP/openssl.log" ||
  { cat "$TMP/openssl.log" >&2; echo "leadhook: error: openssl could not make a test certificate" >&2; exit 1; }
# The production snippet includes fastcgi_params relative to nginx's conf dir.
cp /etc/nginx/fastcgi_params "$TMP/fastcgi_params"

# Every temp path inside TMP, so that nginx -t (which creates them) touches
# nothing outside it; scgi/uwsgi only where this nginx has those modules.
temp_paths() {
  local mod features
  features="$("$NGINX" -V 2>&1)"
  for mod in client_body fastcgi proxy scgi uwsgi; do
    [[ "$features" == *"without-http_${mod}_module"* ]] && continue
    printf '    %s_temp_path %s;\n' "$mod" "$TMP/$mod"
  done
}

# nginx.conf SITE_FILE: a minimal main config around one site.
main_conf() {
  cat <<CONF
pid $TMP/nginx.pid;
error_log $TMP/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
$(temp_paths)
    include $1;
}
CONF
}

# nginx -t binds the listen addresses, so the test moves them to a free
# loopback port (nothing is bound outside 127.0.0.1, no root needed).
free_port() {
  local port i
  for ((i = 0; i < 100; i++)); do
    port=$((20000 + RANDOM % 10000))
    # shellcheck disable=SC2016 # $1 belongs to the inner shell
    timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$port" 2>/dev/null || { echo "$port"; return; }
  done
  echo "leadhook: error: no free port in 20000-29999" >&2
  exit 1
}

failed=0 total=0
check() { # NAME SITE_FILE ORIGINAL
  local name="$1" site="$2"
  total=$((total + 1))
  if grep -n '@[A-Z_]*@' "$site"; then
    echo "FAIL $name: placeholders left after substitution" >&2
    failed=$((failed + 1))
    return
  fi
  if grep -n '^ *listen ' "$site" | grep -v 'listen 127\.0\.0\.1:'; then
    echo "FAIL $name: a listen directive the test could not move to loopback (update this test)" >&2
    failed=$((failed + 1))
    return
  fi
  main_conf "$site" >"$TMP/nginx-$name.conf"
  if "$NGINX" -t -q -e "$TMP/error.log" -p "$TMP/" -c "$TMP/nginx-$name.conf" >"$TMP/$name.log" 2>&1; then
    echo "ok   $name: nginx -t accepts $(basename "$3")"
  else
    echo "FAIL $name: nginx -t rejects $(basename "$3"):" >&2
    cat "$TMP/$name.log" >&2
    failed=$((failed + 1))
  fi
}

# Every location that passes to leadhook keeps the connection for the next
# request, into an upstream that caches idle ones (leadhook serves them
# without pinning a worker thread).
check_keepalive() { # SITE_FILE
  local site="$1" passes keeps
  total=$((total + 1))
  passes="$(grep -c '^ *fastcgi_pass ' "$site" || true)"
  keeps="$(grep -c '^ *fastcgi_keep_conn on;' "$site" || true)"
  if ((passes == 0 || passes != keeps)) || ! grep -q '^ *keepalive [1-9][0-9]*;' "$site"; then
    echo "FAIL keepalive: $(basename "$site") has $passes fastcgi_pass, $keeps fastcgi_keep_conn on," \
      "and needs one each plus an upstream keepalive" >&2
    failed=$((failed + 1))
  else
    echo "ok   keepalive: $(basename "$site") keeps its $passes FastCGI connections alive"
  fi
}
check_keepalive "$ROOT/deploy/nginx/leadhook.conf"
check_keepalive "$ROOT/deploy/nginx/leadhook-dev.conf"

sed -e "s|@SERVER_NAME@|leadhook.test|g" \
  -e "s|^\( *\)listen 443 ssl;|\1listen 127.0.0.1:$(free_port) ssl;|" -e '/listen \[::\]:443 ssl;/d' \
  -e "s|^\( *\)listen 127\.0\.0\.1:9180;|\1listen 127.0.0.1:$(free_port);|" -e '/listen \[::1\]:9180;/d' \
  -e "s|@TLS_CERTIFICATE@|$TMP/test.crt|g" \
  -e "s|@TLS_CERTIFICATE_KEY@|$TMP/test.key|g" \
  "$ROOT/deploy/nginx/leadhook.conf" >"$TMP/site-production.conf"
check production "$TMP/site-production.conf" "$ROOT/deploy/nginx/leadhook.conf"

# deploy/ha: the production site with its upstream block replaced by the
# several-hosts one.
awk -v ha="$ROOT/deploy/ha/leadhook-upstream.conf" '
  /^upstream leadhook \{/ { while ((getline line < ha) > 0) print line; skip = 1; next }
  skip && /^\}/ { skip = 0; next }
  !skip' "$TMP/site-production.conf" >"$TMP/site-ha.conf"
if ! grep -q "10.0.0.12:9000" "$TMP/site-ha.conf" || grep -q "server unix:" "$TMP/site-ha.conf"; then
  total=$((total + 1))
  echo "FAIL ha: the production site's upstream block could not be replaced" >&2
  failed=$((failed + 1))
else
  check ha "$TMP/site-ha.conf" "$ROOT/deploy/ha/leadhook-upstream.conf"
fi
check_keepalive "$TMP/site-ha.conf"

sed -e "s|@HTTP_PORT@|$(free_port)|g" \
  -e "s|@LEADHOOK_SOCKET@|$TMP/leadhook.sock|g" \
  "$ROOT/deploy/nginx/leadhook-dev.conf" >"$TMP/site-dev.conf"
check dev "$TMP/site-dev.conf" "$ROOT/deploy/nginx/leadhook-dev.conf"

# scripts/stack --instances N repeats the line holding @LEADHOOK_SOCKET@ once per socket.
port="$(free_port)"
awk -v port="$port" -v sockets="$TMP/leadhook.sock $TMP/leadhook-2.sock" '
  { gsub(/@HTTP_PORT@/, port) }
  /^[[:space:]]*[^#[:space:]].*@LEADHOOK_SOCKET@/ {
    n = split(sockets, s, " ")
    for (i = 1; i <= n; i++) { line = $0; gsub(/@LEADHOOK_SOCKET@/, s[i], line); print line }
    next
  }
  { split(sockets, s, " "); gsub(/@LEADHOOK_SOCKET@/, s[1]); print }' "$ROOT/deploy/nginx/leadhook-dev.conf" >"$TMP/site-dev-2.conf"
if [[ "$(grep -c "leadhook-2.sock" "$TMP/site-dev-2.conf")" != 1 ]]; then
  total=$((total + 1))
  echo "FAIL dev-2: the dev site has no single line naming the socket (scripts/stack --instances needs one)" >&2
  failed=$((failed + 1))
else
  check dev-2 "$TMP/site-dev-2.conf" "$ROOT/deploy/nginx/leadhook-dev.conf"
fi

if ((failed)); then
  echo "nginx config: $((total - failed)) passed, $failed failed" >&2
  exit 1
fi
echo "nginx config: $total passed, 0 failed"
